//! A small HTTP load generator: `-c` connections send `-n` requests in all, as fast as the
//! server answers, and one JSON line reports the throughput and latency quantiles. Any answer
//! other than `--expect` counts as an error (and the first one is shown).

use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

#[derive(Parser)]
struct Args {
    url: String,
    #[arg(short = 'X', long, default_value = "GET")]
    method: String,
    /// `name: value`, repeatable.
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// A JSON request body (sent with `content-type: application/json`).
    #[arg(short = 'd', long)]
    data: Option<String>,
    #[arg(short = 'c', long, default_value_t = 8)]
    concurrency: usize,
    #[arg(short = 'n', long, default_value_t = 1000)]
    requests: usize,
    #[arg(long, default_value_t = 200)]
    expect: u16,
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let method: Method = args.method.parse()?;
    let mut headers = HeaderMap::new();
    for line in &args.headers {
        let (name, value) = line.split_once(':').ok_or("a header is `name: value`")?;
        headers.append(
            HeaderName::try_from(name.trim())?,
            HeaderValue::try_from(value.trim())?,
        );
    }
    if args.data.is_some() {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    let concurrency = args.concurrency.max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        // One client (one keep-alive connection) per worker, like `concurrency` browsers.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let share = args.requests / concurrency + usize::from(worker < args.requests % concurrency);
        let (url, method, headers, body) = (
            args.url.clone(),
            method.clone(),
            headers.clone(),
            args.data.clone(),
        );
        let expect = args.expect;
        tasks.push(tokio::spawn(async move {
            let mut outcome = Outcome {
                latencies: Vec::with_capacity(share),
                errors: 0,
                first_error: None,
            };
            for _ in 0..share {
                let mut request = client
                    .request(method.clone(), &url)
                    .headers(headers.clone());
                if let Some(body) = &body {
                    request = request.body(body.clone());
                }
                let sent = Instant::now();
                let result = match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body = response.bytes().await;
                        match body {
                            Ok(_) if status == expect => Ok(()),
                            Ok(body) => {
                                Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
                            }
                            Err(err) => Err(err.to_string()),
                        }
                    }
                    Err(err) => Err(err.to_string()),
                };
                outcome.latencies.push(sent.elapsed());
                if let Err(err) = result {
                    outcome.errors += 1;
                    outcome.first_error.get_or_insert(err);
                }
            }
            outcome
        }));
    }
    let mut latencies = Vec::with_capacity(args.requests);
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        let outcome = task.await?;
        latencies.extend(outcome.latencies);
        errors += outcome.errors;
        first_error = first_error.or(outcome.first_error);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        serde_json::json!({
            "requests": latencies.len(),
            "errors": errors,
            "first_error": first_error,
            "seconds": seconds,
            "rps": latencies.len() as f64 / seconds,
            "p50_ms": quantile(0.50),
            "p99_ms": quantile(0.99),
        })
    );
    Ok(())
}
