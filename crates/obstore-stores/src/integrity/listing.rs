//! What the connector reads from the pages of one listing, for the listing that asks: a
//! [`Listing`] polled inside [`Listing::poll_within`] (or [`Listing::scope`]) is the one whose
//! page requests are being sent.
//!
//! * Checksums: Azure's List Blobs answer gives each blob's stored `Content-MD5`, which
//!   `object_store`'s parser drops; the connector records them and the listing takes each
//!   object's by its full name. S3's ListObjectsV2 and GCS's XML listing name no checksum
//!   values (S3 only the algorithm), so their listings carry none.
//! * Objects: the objects of S3's and GCS's pages, read by our own scan for speed
//!   ([`super::list_pages`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::prelude::{Engine, BASE64_STANDARD};
use object_store::path::{Path, DELIMITER};
use object_store::ObjectMeta;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::{Algorithm, ServerChecksums};

tokio::task_local! {
    /// The listing whose page requests are being sent.
    static LISTING: Listing;
}

/// What the connector found in the pages of one listing of a store, until the listing takes it.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// The store prefix, which the listing's locations do not include.
    pub(super) prefix: Option<Path>,
    /// Azure: each blob's checksums by its full name (the store prefix included), when the
    /// listing reports checksums.
    checksums: Option<Arc<Mutex<HashMap<String, ServerChecksums>>>>,
    /// S3 and GCS: the objects of each page but its last, when the listing streams objects.
    pub(super) objects: Option<Arc<Mutex<Vec<ObjectMeta>>>>,
}

impl Listing {
    /// A listing of a store with `prefix` that reports each blob's checksums (Azure).
    pub fn with_checksums(prefix: Option<&Path>) -> Self {
        Self {
            checksums: Some(Arc::default()),
            ..Self::new(prefix)
        }
    }

    /// A listing of a store with `prefix` whose pages' objects the connector reads (S3, GCS);
    /// only for a stream of objects, which takes them after each object the stream yields.
    pub fn with_objects(prefix: Option<&Path>) -> Self {
        Self {
            objects: Some(Arc::default()),
            ..Self::new(prefix)
        }
    }

    fn new(prefix: Option<&Path>) -> Self {
        Self {
            prefix: prefix.filter(|p| !p.as_ref().is_empty()).cloned(),
            ..Self::default()
        }
    }

    /// Runs `poll` (one poll of a listing) with this as the listing whose pages are read.
    pub fn poll_within<R>(&self, poll: impl FnOnce() -> R) -> R {
        LISTING.sync_scope(self.clone(), poll)
    }

    /// `listing` (a whole listing's future) with this as the listing whose pages are read.
    pub fn scope<F: std::future::Future>(
        &self,
        listing: F,
    ) -> impl std::future::Future<Output = F::Output> {
        LISTING.scope(self.clone(), listing)
    }

    /// The listing being polled, if any.
    pub(super) fn current() -> Option<Self> {
        LISTING.try_with(Clone::clone).ok()
    }

    /// Whether the listing reports checksums.
    pub fn reports_checksums(&self) -> bool {
        self.checksums.is_some()
    }

    /// Takes the checksums listed for the object at `location` (relative to the store prefix);
    /// none if its page named no checksum.
    pub fn take_checksums(&self, location: &Path) -> ServerChecksums {
        let Some(found) = &self.checksums else {
            return ServerChecksums::default();
        };
        let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
        let taken = match &self.prefix {
            Some(prefix) => found.remove(&format!("{prefix}{DELIMITER}{location}")),
            None => found.remove(location.as_ref()),
        };
        taken.unwrap_or_default()
    }

    /// Takes the objects read so far: those that come before the next object the listing's
    /// stream yields.
    pub fn take_objects(&self) -> Vec<ObjectMeta> {
        match &self.objects {
            Some(found) => std::mem::take(&mut *found.lock().unwrap_or_else(|e| e.into_inner())),
            None => Vec::new(),
        }
    }

    /// Records the blobs of one page of an Azure listing, if the listing reports checksums.
    pub(super) fn record_azure_page(&self, xml: &[u8]) {
        if let Some(found) = &self.checksums {
            let blobs = azure_blob_checksums(xml);
            found
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(blobs);
        }
    }
}

/// The `Content-MD5` of each blob of a List Blobs answer, by name. A page that does not parse
/// yields what was read before the fault (`object_store` reports the fault itself).
fn azure_blob_checksums(xml: &[u8]) -> Vec<(String, ServerChecksums)> {
    let mut reader = Reader::from_reader(xml);
    // Element names from the root down; a blob's `Name` is `Blob/Name` and its checksum
    // `Blob/Properties/Content-MD5` (a metadata key may be called `Name` too, one level deeper).
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut text = String::new();
    let mut name: Option<String> = None;
    let mut checksums = ServerChecksums::default();
    let mut found = Vec::new();
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return found,
            Ok(event) => event,
        };
        match event {
            Event::Start(start) => {
                path.push(start.local_name().as_ref().to_vec());
                text.clear();
            }
            Event::Text(t) => {
                if let Ok(t) = t.xml10_content() {
                    text.push_str(&t);
                }
            }
            Event::CData(t) => {
                if let Ok(t) = t.decode() {
                    text.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else if let Some(s) = r
                    .decode()
                    .ok()
                    .and_then(|e| quick_xml::escape::resolve_predefined_entity(&e))
                {
                    text.push_str(s);
                }
            }
            Event::End(_) => {
                let ends = |tail: &[&[u8]]| {
                    path.len() >= tail.len()
                        && path[path.len() - tail.len()..]
                            .iter()
                            .zip(tail)
                            .all(|(a, b)| a.as_slice() == *b)
                };
                if ends(&[b"Blobs", b"Blob", b"Name"]) {
                    name = Some(std::mem::take(&mut text));
                } else if ends(&[b"Blob", b"Properties", b"Content-MD5"]) {
                    if let Ok(digest) = BASE64_STANDARD.decode(text.trim()) {
                        if digest.len() == Algorithm::Md5.width() {
                            checksums.0.push((Algorithm::Md5, digest));
                        }
                    }
                } else if ends(&[b"Blobs", b"Blob"]) {
                    let listed = std::mem::take(&mut checksums);
                    if let (Some(name), false) = (name.take(), listed.0.is_empty()) {
                        found.push((name, listed));
                    }
                }
                path.pop();
                text.clear();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_page_gives_each_blob_its_md5_by_unescaped_name() {
        let xml = br#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1/" ContainerName="c">
  <Prefix>p/</Prefix>
  <Blobs>
    <Blob>
      <Name>p/a &amp; b&#x2F;c.txt</Name>
      <Properties>
        <Content-Length>3</Content-Length>
        <Content-MD5>kAFQmDzST7DWlj99KOF/cg==</Content-MD5>
      </Properties>
      <Metadata><Name>not-a-blob</Name></Metadata>
    </Blob>
    <BlobPrefix><Name>p/dir/</Name></BlobPrefix>
    <Blob>
      <Name>p/no-md5</Name>
      <Properties><Content-MD5 /></Properties>
    </Blob>
  </Blobs>
  <NextMarker />
</EnumerationResults>"#;
        let found = azure_blob_checksums(xml);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "p/a & b/c.txt");
        assert_eq!(
            found[0].1.encoded(),
            vec![("md5", "kAFQmDzST7DWlj99KOF/cg==".to_string())]
        );
    }

    #[test]
    fn listing_takes_each_object_once_below_the_store_prefix() {
        let listed = Listing::with_checksums(Some(&Path::from("pre")));
        listed.record_azure_page(
            b"<EnumerationResults><Blobs><Blob><Name>pre/x</Name><Properties>\
              <Content-MD5>kAFQmDzST7DWlj99KOF/cg==</Content-MD5></Properties></Blob>\
              </Blobs></EnumerationResults>",
        );
        assert_eq!(listed.take_checksums(&Path::from("x")).0.len(), 1);
        assert!(listed.take_checksums(&Path::from("x")).0.is_empty());
    }

    #[test]
    fn the_current_listing_is_the_one_being_polled() {
        assert!(Listing::current().is_none());
        let listed = Listing::with_objects(None);
        let inside = listed.poll_within(Listing::current);
        let same = |l: Listing| {
            Arc::ptr_eq(
                l.objects.as_ref().unwrap(),
                listed.objects.as_ref().unwrap(),
            )
        };
        assert!(inside.is_some_and(same));
        assert!(Listing::current().is_none());
    }
}
