//! Calls Portal makes to other services (Prosody, Atheme, Mailcow, MediaWiki, Sentry's
//! tunnel): ONE `reqwest` client per process (one connection pool, one TLS set-up), and a
//! handle per service that puts that service's timeout on each of its requests.

use std::sync::OnceLock;
use std::time::Duration;

/// Longest wait for a connection, whatever the service's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The process's client, built on first use (a function that calls nothing never builds it).
fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build()
                .map_err(|e| tracing::error!(error = %e, "cannot build the HTTP client; outbound calls disabled"))
                .ok()
        })
        .as_ref()
}

/// One service's way out: the shared client, and how long a whole call to it may take.
#[derive(Clone, Debug)]
pub struct Outbound {
    client: &'static reqwest::Client,
    timeout: Duration,
}

impl Outbound {
    /// `None` when this process cannot make HTTP calls at all (logged once).
    pub fn new(timeout: Duration) -> Option<Self> {
        client().map(|client| Self { client, timeout })
    }

    pub fn get(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.get(url).timeout(self.timeout)
    }

    pub fn post(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.post(url).timeout(self.timeout)
    }

    pub fn put(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.put(url).timeout(self.timeout)
    }

    pub fn delete(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.delete(url).timeout(self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_shares_one_client_and_keeps_its_own_timeout() {
        let fast = Outbound::new(Duration::from_millis(50)).unwrap();
        let slow = Outbound::new(Duration::from_secs(8)).unwrap();
        assert!(std::ptr::eq(fast.client, slow.client));
        let request = fast.get("http://127.0.0.1:9/").build().unwrap();
        assert_eq!(request.timeout(), Some(&Duration::from_millis(50)));
        let request = slow.post("http://127.0.0.1:9/").build().unwrap();
        assert_eq!(request.timeout(), Some(&Duration::from_secs(8)));
    }
}
