#!/usr/bin/env python3
"""Writes an API Gateway event fixture (HTTP API payload v2 or REST API v1).

    python3 events/make_event.py v2 POST /api/monitoring --body-file envelope.txt \
        --header content-type:application/x-sentry-envelope > events/x.v2.json

The shapes follow the examples shipped with the aws_lambda_events crate; only the
request line, headers, query and body change from one fixture to the next."""
import argparse
import json
import sys
from urllib.parse import parse_qs


def v2(method, path, query, headers, body, cookies):
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "portalapi01",
            "domainName": "portalapi01.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "portalapi01",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": headers.get("user-agent", "curl/8.5.0"),
            },
            "requestId": "Fixture-v2-request-id=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "25/Nov/2026:21:48:39 +0000",
            "timeEpoch": 1795643319970,
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query).items()}
    if body is not None:
        event["body"] = body
    return event


def v1(method, path, query, headers, body, cookies):
    if cookies:
        headers = dict(headers, cookie="; ".join(cookies))
    params = {k: v for k, v in parse_qs(query).items()} if query else None
    event = {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in params.items()} if params else None,
        "multiValueQueryStringParameters": params,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "us4z18",
            "stage": "Prod",
            "requestId": "Fixture-v1-request-id",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": headers.get("user-agent", "curl/8.5.0")},
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "apiId": "portalrest1",
            "path": "/Prod" + path,
            "protocol": "HTTP/1.1",
        },
        "body": body,
        "isBase64Encoded": False,
    }
    return event


def main():
    p = argparse.ArgumentParser()
    p.add_argument("version", choices=["v1", "v2"])
    p.add_argument("method")
    p.add_argument("path")
    p.add_argument("--query", default="")
    p.add_argument("--header", action="append", default=[], help="name:value")
    p.add_argument("--cookie", action="append", default=[], help="name=value")
    p.add_argument("--body-file")
    a = p.parse_args()
    headers = {"host": "portal.example.org", "user-agent": "curl/8.5.0", "x-forwarded-proto": "https"}
    for h in a.header:
        k, v = h.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = open(a.body_file).read() if a.body_file else None
    make = v2 if a.version == "v2" else v1
    json.dump(make(a.method, a.path, a.query, headers, body, a.cookie), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
