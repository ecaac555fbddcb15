//! Transfer examples, crafted once per source model and read back by every model measured on them
//! (docs/protocol.md §1.6).
//!
//! Every model of an experiment (and of E3, which shares E2's Vanilla runs) is attacked with the same
//! examples: crafted on the Vanilla model of its seed from the same test examples, with the same
//! attacks, ε grid, batches and seed. Crafting is deterministic, so the first evaluation that needs
//! them writes them to `OUT/.transfer/<hash>.safetensors` (the hash of all those inputs, which the
//! file's metadata also holds) and the others read exactly what they would have crafted. Two processes
//! that craft the same file at once write the same bytes; a file that cannot be read is crafted again.
//! At paper scale one source's examples take hundreds of megabytes, so `reproduce` deletes the
//! directory once everything it ran is complete ([`clear`]).

use std::collections::HashMap;
use std::path::Path;

use burn::prelude::*;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use sha2::{Digest, Sha256};
use specreg_files::{FileError, write_file_atomically};

use crate::error::Result;
use crate::out_dir::OutDir;

/// The metadata key holding the identity the examples were crafted under.
const IDENTITY_KEY: &str = "specreg_transfer";

/// SHA-256 of a tensor's values (f32 or integer, row-major): what identifies the examples crafted from.
pub fn values_digest(data: &TensorData) -> String {
    let mut hasher = Sha256::new();
    if data.dtype().is_float() {
        data.iter::<f32>().for_each(|v| hasher.update(v.to_le_bytes()));
    } else {
        data.iter::<i64>().for_each(|v| hasher.update(v.to_le_bytes()));
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The tensors named `names` (each `shape`) stored at `path` under `identity`; crafted by `craft` and
/// written there when the file is absent or does not hold them.
pub fn crafted_once(
    path: &Path,
    identity: &serde_json::Value,
    names: &[String],
    shape: [usize; 4],
    device: &Device,
    craft: impl FnOnce() -> Result<Vec<Tensor<4>>>,
) -> Result<Vec<Tensor<4>>> {
    match read(path, identity, names, shape) {
        Ok(Some(values)) => return Ok(values.into_iter().map(|v| Tensor::from_data(TensorData::new(v, shape), device)).collect()),
        Ok(None) => {}
        Err(problem) => eprintln!("warning: {}: {problem}; crafting the transfer examples again", path.display()),
    }
    let crafted = craft()?;
    let values: Vec<Vec<f32>> = crafted.iter().map(|t| t.clone().into_data().try_into_vec_as::<f32>().unwrap_or_default()).collect();
    write(path, identity, names, shape, &values)?;
    Ok(crafted)
}

/// Deletes `OUT/.transfer/` and everything in it, unless a process holds a lock under `OUT` (it may
/// be crafting); nothing to do when it is absent.
pub fn clear(out: &OutDir) -> Result<()> {
    let held = std::fs::read_dir(out.locks_dir())
        .map(|entries| entries.filter_map(|e| e.ok()).any(|e| e.path().extension().is_some_and(|x| x == "lock")))
        .unwrap_or(false);
    if held {
        return Ok(());
    }
    let dir = out.transfer_dir();
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FileError::new(&dir, e).into()),
        _ => Ok(()),
    }
}

/// The values of `names` in the file at `path`: `None` when there is no file, an error (in words)
/// when it is not a safetensors file crafted under `identity` holding f32 tensors of `shape`.
fn read(path: &Path, identity: &serde_json::Value, names: &[String], shape: [usize; 4]) -> std::result::Result<Option<Vec<Vec<f32>>>, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(|e| format!("not a safetensors file ({e})"))?;
    let stored = metadata.metadata().as_ref().and_then(|m| m.get(IDENTITY_KEY));
    if stored != Some(&identity.to_string()) {
        return Err("crafted under another identity than its name's".into());
    }
    let file = SafeTensors::deserialize(&bytes).map_err(|e| format!("not a safetensors file ({e})"))?;
    names
        .iter()
        .map(|name| {
            let view = file.tensor(name).map_err(|_| format!("tensor `{name}` is missing"))?;
            if view.dtype() != Dtype::F32 || view.shape() != shape {
                return Err(format!("tensor `{name}`: expected f32 {shape:?}, found {:?} {:?}", view.dtype(), view.shape()));
            }
            Ok(view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        })
        .collect::<std::result::Result<Vec<_>, String>>()
        .map(Some)
}

fn write(path: &Path, identity: &serde_json::Value, names: &[String], shape: [usize; 4], values: &[Vec<f32>]) -> Result<()> {
    let bytes: Vec<Vec<u8>> = values.iter().map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
    let views = names
        .iter()
        .zip(&bytes)
        .map(|(name, b)| TensorView::new(Dtype::F32, shape.to_vec(), b).map(|view| (name.clone(), view)))
        .collect::<std::result::Result<Vec<_>, _>>();
    // One metadata key only: safetensors writes a HashMap, and one key keeps the bytes deterministic.
    let metadata = HashMap::from([(IDENTITY_KEY.to_string(), identity.to_string())]);
    let serialised = views.and_then(|views| safetensors::serialize(views, Some(metadata)));
    let serialised = serialised.map_err(|e| FileError::new(path, std::io::Error::other(format!("serialising the transfer examples: {e}"))))?;
    write_file_atomically(path, serialised)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples(device: &Device, offset: f32) -> Vec<Tensor<4>> {
        (0..2)
            .map(|k| Tensor::from_data(TensorData::new((0..12).map(|i| i as f32 * 0.1 + k as f32 + offset).collect::<Vec<f32>>(), [3, 1, 2, 2]), device))
            .collect()
    }

    #[test]
    fn crafted_once_then_read_back_exactly_and_crafted_again_when_the_file_is_bad() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::new(dir.path());
        let path = out.transfer_file("abc");
        let device = Device::default();
        let names = vec!["pgd40@0.1".to_string(), "apgd-ce100@0.1".to_string()];
        let identity = serde_json::json!({ "source": "Vanilla", "seed": 1 });
        let values = |t: &[Tensor<4>]| t.iter().map(|x| x.clone().into_data().try_to_vec::<f32>().unwrap()).collect::<Vec<_>>();
        let mut crafts = 0;
        let mut craft = |offset: f32| {
            crafts += 1;
            Ok(examples(&device, offset))
        };
        let first = crafted_once(&path, &identity, &names, [3, 1, 2, 2], &device, || craft(0.0)).unwrap();
        // Read back: the stored values, not a second crafting (which would give other values here).
        let again = crafted_once(&path, &identity, &names, [3, 1, 2, 2], &device, || craft(5.0)).unwrap();
        assert_eq!(values(&again), values(&first));
        // Another identity, a missing tensor or a corrupt file: crafted again and rewritten.
        let other = serde_json::json!({ "source": "Vanilla", "seed": 2 });
        let redone = crafted_once(&path, &other, &names, [3, 1, 2, 2], &device, || craft(5.0)).unwrap();
        assert_eq!(values(&redone), values(&examples(&device, 5.0)));
        std::fs::write(&path, b"not safetensors").unwrap();
        let repaired = crafted_once(&path, &other, &names, [3, 1, 2, 2], &device, || craft(7.0)).unwrap();
        assert_eq!(values(&repaired), values(&examples(&device, 7.0)));
        let more = vec![names[0].clone(), "fgsm@0.1".to_string()];
        crafted_once(&path, &other, &more, [3, 1, 2, 2], &device, || craft(9.0)).unwrap();
        assert_eq!(crafts, 4);
        // Not while a process holds a lock: it may be crafting.
        std::fs::create_dir_all(dir.path().join(".locks")).unwrap();
        std::fs::write(dir.path().join(".locks/0123.lock"), b"{}").unwrap();
        clear(&out).unwrap();
        assert!(path.is_file());
        std::fs::remove_file(dir.path().join(".locks/0123.lock")).unwrap();
        clear(&out).unwrap();
        assert!(!out.transfer_dir().exists());
        clear(&out).unwrap(); // absent: nothing to do
    }

    #[test]
    fn the_digest_tells_examples_apart() {
        let device = Device::default();
        let [a, b] = [examples(&device, 0.0), examples(&device, 0.5)];
        let digest = |t: &Tensor<4>| values_digest(&t.clone().into_data());
        assert_eq!(digest(&a[0]), digest(&a[0].clone()));
        assert_ne!(digest(&a[0]), digest(&b[0]));
        let labels = |v: Vec<i64>| values_digest(&Tensor::<1, Int>::from_data(TensorData::new(v, [3]), &device).into_data());
        assert_ne!(labels(vec![1, 2, 3]), labels(vec![1, 2, 4]));
    }
}
