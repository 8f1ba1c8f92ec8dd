//! Where a connector's requests go: over the network, or to an HTTP service
//! in this process.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;

/// An HTTP service in this process: a request in, its answer out. The
/// simulation's mock systems are served this way: the same handlers that
/// answer on a socket, called directly.
pub type Service = Arc<
    dyn Fn(http::Request<Bytes>) -> Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>
        + Send
        + Sync,
>;

/// A base URL [`Transport::serve`] could not read.
#[derive(Debug, thiserror::Error)]
#[error("{base_url:?} is not a URL: {reason}")]
pub struct NotAUrl {
    /// The base URL as given.
    pub base_url: String,
    /// What the URL parser said.
    pub reason: String,
}

/// Where connectors send their requests.
///
/// By default ([`Transport::network`]) every request goes over the network
/// through the process's one HTTP client. [`Transport::serve`] hands the
/// requests for one origin to a [`Service`] in this process instead: the
/// request and its answer are the same (method, URL, headers, body, status),
/// with no socket, no TCP and no HTTP framing between them. A simulation
/// that plays millions of requests a day spends most of its time there
/// otherwise.
#[derive(Clone, Default)]
pub struct Transport {
    /// By origin (`http://host:port`).
    services: HashMap<String, Service>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut origins: Vec<&String> = self.services.keys().collect();
        origins.sort();
        f.debug_struct("Transport")
            .field("in_process", &origins)
            .finish()
    }
}

impl Transport {
    /// Every request over the network.
    pub fn network() -> Transport {
        Transport::default()
    }

    /// Requests to `base_url`'s origin (scheme, host and port) go to
    /// `service`, in this process; others still go over the network.
    ///
    /// # Errors
    ///
    /// When `base_url` is not a URL.
    pub fn serve(mut self, base_url: &str, service: Service) -> Result<Transport, NotAUrl> {
        let url = reqwest::Url::parse(base_url).map_err(|e| NotAUrl {
            base_url: base_url.to_string(),
            reason: e.to_string(),
        })?;
        self.services
            .insert(url.origin().ascii_serialization(), service);
        Ok(self)
    }

    /// The service in this process for `url`'s origin, if any.
    pub(crate) fn service_for(&self, url: &reqwest::Url) -> Option<Service> {
        self.services
            .get(&url.origin().ascii_serialization())
            .cloned()
    }
}

/// Hands `request` to `service` within `timeout`, and turns its answer into
/// a response read like one from the network. `Err` says why there was no
/// answer: the request could not be built, or the time ran out.
pub(crate) async fn exchange(
    service: &Service,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, String> {
    let request = request.build().map_err(|e| e.to_string())?;
    let timeout = request.timeout().copied().unwrap_or(Duration::MAX);
    let body = request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .map(Bytes::copy_from_slice)
        .unwrap_or_default();
    let mut call = http::Request::builder()
        .method(request.method().clone())
        .uri(request.url().as_str());
    if let Some(headers) = call.headers_mut() {
        *headers = request.headers().clone();
    }
    let call = call.body(body).map_err(|e| e.to_string())?;
    match tokio::time::timeout(timeout, service(call)).await {
        Ok(answer) => Ok(reqwest::Response::from(answer)),
        Err(_) => Err("timed out".into()),
    }
}
