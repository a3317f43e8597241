//! Collection creation (`MKCOL`) that survives concurrent writers into a new directory.
//!
//! object_store's HTTP store creates missing parent directories when a `PUT` answers 409/404: it
//! sends `MKCOL` for each, and fails on any answer but success. Two writers racing into the same
//! new directory then fail one another: the loser's `MKCOL` finds the collection already made
//! (`405 Method Not Allowed`, RFC 4918 §9.3.1) or still being made under the server's lock
//! (`423 Locked`, rclone and other golang.org/x/net/webdav servers). This service, between the
//! store and the connection, answers the first as the success it is for the caller (the collection
//! exists) and retries the second for a bounded time.

use std::time::Duration;

use async_trait::async_trait;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
};
use object_store::ClientOptions;

use crate::runtime::lane::LaneConnector;

/// Retries of a `MKCOL` answered `423 Locked`; the waits double from [`FIRST_LOCKED_WAIT`], so
/// the last try is about 1.3 s after the first.
const LOCKED_RETRIES: u32 = 8;
const FIRST_LOCKED_WAIT: Duration = Duration::from_millis(5);

/// Connects HTTP stores through a [`LaneConnector`], with `MKCOL` answered as described above.
#[derive(Debug, Clone)]
pub struct WebDavConnector(pub LaneConnector);

impl HttpConnector for WebDavConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(WebDavService {
            inner: self.0.connect(options)?,
        }))
    }
}

#[derive(Debug)]
struct WebDavService {
    inner: HttpClient,
}

#[async_trait]
impl HttpService for WebDavService {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        if request.method().as_str() != "MKCOL" {
            return self.inner.execute(request).await;
        }
        let (parts, body) = request.into_parts();
        let mut wait = FIRST_LOCKED_WAIT;
        let mut retries = 0;
        loop {
            let mut again = http::Request::builder()
                .method(parts.method.clone())
                .uri(parts.uri.clone())
                .version(parts.version);
            if let Some(headers) = again.headers_mut() {
                headers.extend(parts.headers.clone());
            }
            let again = again
                .body(body.clone())
                .map_err(|err| HttpError::new(HttpErrorKind::Request, err))?;
            let response = self.inner.execute(again).await?;
            match response.status() {
                http::StatusCode::METHOD_NOT_ALLOWED => return Ok(collection_exists()),
                http::StatusCode::LOCKED if retries < LOCKED_RETRIES => {
                    drop(response);
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    retries += 1;
                }
                _ => return Ok(response),
            }
        }
    }
}

/// The answer object_store takes as "the directory is there": `201 Created`, empty body.
fn collection_exists() -> HttpResponse {
    let mut response = HttpResponse::new(bytes::Bytes::new().into());
    *response.status_mut() = http::StatusCode::CREATED;
    response
}
