//! Checksum verification and fetching (local copy and HTTP download with resume), against a tiny
//! HTTP server on 127.0.0.1 started by the test itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use specreg_data::fetch::{NoProgress, Source, fetch_dataset, fetch_file};
use specreg_data::verify::{Check, DatasetReport, check_file, sha256_bytes, verify_dataset};
use specreg_data::{CanonicalFile, DataError, DatasetId};

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A canonical entry for `content`, distributed gzip-compressed at level 9.
fn canonical(name: &'static str, content: &[u8]) -> (CanonicalFile, Vec<u8>) {
    let gz = gzip(content, 9);
    let file = CanonicalFile { name, size: gz.len() as u64, sha256: leak(sha256_bytes(&gz)), content_sha256: Some(leak(sha256_bytes(content))) };
    (file, gz)
}

fn payload() -> Vec<u8> {
    (0..200_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()
}

#[test]
fn check_accepts_canonical_recompressed_and_raw_forms_and_rejects_others() {
    let content = payload();
    let (file, gz) = canonical("data.gz", &content);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.gz");

    std::fs::write(&path, &gz).unwrap();
    assert_eq!(check_file(&path, &file).unwrap(), Check::Verified);
    std::fs::write(&path, gzip(&content, 1)).unwrap();
    assert_eq!(check_file(&path, &file).unwrap(), Check::VerifiedContent);
    let raw = dir.path().join("data");
    std::fs::write(&raw, &content).unwrap();
    assert_eq!(check_file(&raw, &file).unwrap(), Check::VerifiedContent);

    let mut other = content.clone();
    other[5] ^= 1;
    std::fs::write(&path, gzip(&other, 9)).unwrap();
    match check_file(&path, &file).unwrap() {
        Check::Mismatch { expected, actual } => {
            assert_eq!(expected, file.sha256);
            assert_eq!(actual, sha256_bytes(&gzip(&other, 9)));
        }
        c => panic!("expected a mismatch, got {c:?}"),
    }
    assert_eq!(check_file(&dir.path().join("absent"), &file).unwrap(), Check::Missing);
}

#[test]
fn verify_reports_absent_and_corrupt_datasets() {
    let root = tempfile::tempdir().unwrap();
    assert!(matches!(verify_dataset(root.path(), DatasetId::Mnist).unwrap(), DatasetReport::Absent { .. }));
    let dir = root.path().join("mnist");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), b"not mnist").unwrap();
    let report = verify_dataset(root.path(), DatasetId::Mnist).unwrap();
    assert!(!report.is_ok());
    let DatasetReport::Present { files, .. } = report else { panic!("present") };
    assert_eq!(files.len(), 4);
    assert_eq!(files.iter().filter(|f| f.check == Check::Missing).count(), 3);
    assert!(files.iter().any(|f| matches!(f.check, Check::Mismatch { .. })));
}

#[test]
fn fetch_from_local_dir_verifies_then_renames() {
    let content = payload();
    let (file, _) = canonical("set.gz", &content);
    let src = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    // A recompressed copy, as Debian ships Fashion-MNIST: accepted on content.
    std::fs::write(src.path().join("set.gz"), gzip(&content, 3)).unwrap();
    let got = fetch_file(&file, dest.path(), &Source::LocalDir(src.path().into()), &NoProgress).unwrap();
    assert_eq!(got.check, Check::VerifiedContent);
    assert!(got.transferred);
    assert_eq!(got.path, dest.path().join("set.gz"));
    // Second time: already valid, nothing transferred.
    let again = fetch_file(&file, dest.path(), &Source::LocalDir(src.path().into()), &NoProgress).unwrap();
    assert!(!again.transferred);

    // A corrupt source is refused and nothing lands in the destination.
    let dest2 = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("set.gz"), gzip(b"something else", 3)).unwrap();
    let err = fetch_file(&file, dest2.path(), &Source::LocalDir(src.path().into()), &NoProgress).unwrap_err();
    assert!(matches!(err, DataError::ChecksumMismatch { .. }), "{err}");
    assert_eq!(std::fs::read_dir(dest2.path()).unwrap().count(), 0);
}

/// Serves `body` over HTTP/1.1 with Range support. The first `cut_first` responses are cut off after
/// half their bytes (simulating a dropped connection). Records the Range header of each request.
struct Server {
    url: String,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

fn serve(body: Vec<u8>, cut_first: usize, requests: usize) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    std::thread::spawn(move || {
        for (k, stream) in listener.incoming().take(requests).enumerate() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = Some(v.trim().trim_end_matches('-').to_string());
                }
            }
            seen.lock().unwrap().push(range.clone());
            let start: usize = range.as_deref().map_or(0, |r| r.parse().unwrap());
            let part = &body[start..];
            let status = if start > 0 { "206 Partial Content" } else { "200 OK" };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                part.len(),
                body.len() - 1,
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            let send = if k < cut_first { &part[..part.len() / 2] } else { part };
            let _ = stream.write_all(send);
            let _ = stream.flush();
            // Drain so the client sees a clean close.
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let _ = reader.read(&mut [0u8; 1]);
        }
    });
    Server { url, ranges }
}

#[test]
fn download_verifies_and_resumes_after_a_dropped_connection() {
    let content = payload();
    let (file, gz) = canonical("remote.gz", &content);
    let server = serve(gz.clone(), 1, 2);
    let dest = tempfile::tempdir().unwrap();
    let source = Source::Mirrors(vec![server.url.clone()]);

    let err = fetch_file(&file, dest.path(), &source, &NoProgress).unwrap_err();
    assert!(err.to_string().contains("resume"), "{err}");
    let part = dest.path().join("remote.gz.part");
    let partial = std::fs::metadata(&part).unwrap().len();
    assert_eq!(partial, gz.len() as u64 / 2, "the partial download is kept");
    assert!(!dest.path().join("remote.gz").exists(), "no unverified file under the final name");

    let got = fetch_file(&file, dest.path(), &source, &NoProgress).unwrap();
    assert_eq!(got.check, Check::Verified);
    assert_eq!(std::fs::read(dest.path().join("remote.gz")).unwrap(), gz);
    assert!(!part.exists());
    let ranges = server.ranges.lock().unwrap().clone();
    assert_eq!(ranges, vec![None, Some(partial.to_string())], "second request resumed at the partial length");
}

#[test]
fn download_with_wrong_checksum_is_an_error_and_leaves_nothing() {
    let (file, _) = canonical("remote.gz", &payload());
    let server = serve(gzip(b"tampered", 9), 0, 1);
    let dest = tempfile::tempdir().unwrap();
    let mut spoofed = file;
    spoofed.size = gzip(b"tampered", 9).len() as u64;
    let err = fetch_file(&spoofed, dest.path(), &Source::Mirrors(vec![server.url]), &NoProgress).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("checksum mismatch") && msg.contains(file.sha256), "{msg}");
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

/// A fetch that gets nothing (here: a source directory without the files) leaves no empty dataset
/// directory behind, which would read as the dataset being there; an existing one is kept.
#[test]
fn a_failed_fetch_leaves_no_empty_dataset_directory() {
    let data = tempfile::tempdir().unwrap();
    let empty_source = tempfile::tempdir().unwrap();
    let err = fetch_dataset(DatasetId::Cifar10, data.path(), &Source::LocalDir(empty_source.path().into()), &NoProgress).unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }), "{err}");
    assert!(!DatasetId::Cifar10.dir(data.path()).exists(), "an empty dataset directory was left behind");

    std::fs::create_dir_all(DatasetId::Cifar10.dir(data.path())).unwrap();
    fetch_dataset(DatasetId::Cifar10, data.path(), &Source::LocalDir(empty_source.path().into()), &NoProgress).unwrap_err();
    assert!(DatasetId::Cifar10.dir(data.path()).is_dir(), "a directory the user made was removed");
}
