//! Input checked once, at the edge: every problem becomes the contract's 400 envelope.
//! The issues are the domain's ([`Issue`], [`Rules`]), their envelope the error's
//! ([`validation_error`]). `json` (bodies), `query` (query strings and paging), `path` (path
//! ids).

pub mod json;
pub mod path;
pub mod query;

pub use crate::error::{invalid_cursor, validation_error};
pub use json::{
    JsonBody, OptionalJsonBody, ValidJson, body_rejection, object, optional_string, parse_json,
    present,
};
pub use path::{MAX_ID_LEN, PathId};
pub use portal_domain::issue::{Issue, Rules, Validate, type_name};
pub use query::{
    FromQuery, MAX_CURSOR_LEN, MAX_LIMIT, MAX_OFFSET, Paging, QueryReader, ValidQuery, seal_cursor,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;
    use crate::error::{INVALID_ID_FORMAT, INVALID_JSON_BODY};
    use serde::Deserialize;
    use serde_json::{Value, json};

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Profile {
        name: String,
        contact_email: Option<String>,
        stars: Option<u32>,
    }

    impl Validate for Profile {
        fn validate(&self) -> Result<(), Vec<Issue>> {
            let mut rules = Rules::default();
            rules.length("name", &self.name, 3, 10);
            if let Some(email) = &self.contact_email
                && !email.contains('@')
            {
                rules.broken("contactEmail", "email", None);
            }
            if let Some(stars) = self.stars
                && !(1..=5).contains(&stars)
            {
                rules.push(Issue::too_big("number", 5, false).at("stars"));
            }
            rules.finish()
        }
    }

    fn split(err: ApiError) -> (String, Value) {
        match err {
            ApiError::Validation { message, details } => (message, details),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_short_name_gives_the_contract_envelope() {
        let err = parse_json::<Profile>(br#"{"name":"ab"}"#).unwrap_err();
        let (message, details) = split(err);
        assert_eq!(
            message,
            "Validation error: Name must contain at least 3 character(s) at \"name\""
        );
        assert_eq!(
            details,
            json!({
                "issues": [{
                    "code": "too_small", "minimum": 3, "type": "string", "inclusive": true,
                    "exact": false, "message": "String must contain at least 3 character(s)",
                    "path": ["name"]
                }],
                "flattened": {
                    "formErrors": [],
                    "fieldErrors": {"name": ["String must contain at least 3 character(s)"]}
                }
            })
        );
    }

    #[test]
    fn every_broken_rule_is_reported_with_camel_case_paths() {
        let err =
            parse_json::<Profile>(br#"{"name":"abcdefghijkl","contactEmail":"nope","stars":9}"#)
                .unwrap_err();
        let (message, details) = split(err);
        assert_eq!(
            message,
            "Validation error: Invalid email at \"contactEmail\"; Name must contain at most 10 character(s) at \"name\"; Stars must be less than or equal to 5 at \"stars\""
        );
        assert_eq!(details["issues"].as_array().unwrap().len(), 3);
        assert_eq!(
            details["flattened"]["fieldErrors"]["contactEmail"],
            json!(["Invalid email"])
        );
        assert_eq!(details["issues"][2]["maximum"], json!(5));
    }

    #[test]
    fn wrong_types_and_missing_fields_are_invalid_type_issues() {
        let (message, details) = split(parse_json::<Profile>(br#"{"name":12}"#).unwrap_err());
        assert_eq!(
            message,
            "Validation error: Expected string, received number at \"name\""
        );
        assert_eq!(
            details["issues"][0],
            json!({"code":"invalid_type","expected":"string","received":"number",
                   "message":"Expected string, received number","path":["name"]})
        );
        let (message, _) = split(parse_json::<Profile>(br#"{}"#).unwrap_err());
        assert_eq!(message, "Validation error: Required at \"name\"");
    }

    #[test]
    fn not_json_is_invalid_json_body() {
        for body in [&b"{name:"[..], b"", b"<xml/>"] {
            let err = parse_json::<Profile>(body).unwrap_err();
            assert!(matches!(err, ApiError::BadRequest(ref m) if m == INVALID_JSON_BODY));
        }
    }

    #[test]
    fn query_reader_reports_every_bad_parameter() {
        let mut q = QueryReader::parse(Some("limit=abc&offset=-1&active=yes"));
        let paging = Paging::read(&mut q, 50);
        let active = q.bool("active");
        assert_eq!(paging.limit, 50);
        assert_eq!(active, None);
        let (message, details) = split(q.finish().unwrap_err());
        assert_eq!(
            message,
            "Validation error: Expected number, received nan at \"limit\"; Offset must be greater than or equal to 0 at \"offset\"; Invalid enum value. Expected 'true' | 'false', received 'yes' at \"active\""
        );
        assert_eq!(details["issues"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn limit_is_capped_at_100_and_at_least_1() {
        for (raw, code) in [("limit=101", "too_big"), ("limit=0", "too_small")] {
            let mut q = QueryReader::parse(Some(raw));
            Paging::read(&mut q, 50);
            let (_, details) = split(q.finish().unwrap_err());
            assert_eq!(details["issues"][0]["code"], code);
        }
        let mut q = QueryReader::parse(Some("limit=100&offset=20&cursor=abc"));
        let paging = Paging::read(&mut q, 50);
        q.finish().unwrap();
        assert_eq!(
            paging,
            Paging {
                limit: 100,
                offset: 20,
                cursor: Some("abc".into())
            }
        );
    }

    #[test]
    fn ids_are_one_to_128_characters() {
        assert!(PathId::parse("a").is_ok());
        assert!(PathId::parse(&"x".repeat(128)).is_ok());
        for bad in [String::new(), "x".repeat(129)] {
            let err = PathId::parse(&bad).unwrap_err();
            assert!(matches!(err, ApiError::BadRequest(ref m) if m == INVALID_ID_FORMAT));
        }
    }
}
