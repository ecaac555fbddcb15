//! Weights as safetensors with PyTorch names and layouts, so a trained model loads into the
//! equivalent `torch.nn` module with `model.load_state_dict(safetensors.torch.load_file(path))`.
//!
//! | burn field | safetensors name | shape (PyTorch layout) |
//! |---|---|---|
//! | `Mlp::layers[k]` (Linear) | `layers.{k}.weight`, `layers.{k}.bias` | out × in, out |
//! | `Mlp::norms[k]` (BatchNorm) | `norms.{k}.weight` (γ), `.bias` (β), `.running_mean`, `.running_var`, `.num_batches_tracked` (i64, 0) | units |
//! | `Cnn::convs[k]` (Conv2d) | `convs.{k}.weight`, `convs.{k}.bias` | out × in × 3 × 3, out |
//! | `Cnn::fully_connected[k]` | `fully_connected.{k}.weight`, `.bias` | out × in, out |
//! | `readout` | `readout.weight`, `readout.bias` | classes × in, classes |
//!
//! burn stores a linear weight as in × out; it is transposed on the way out and back. Whitening and
//! input standardisation have no trained parameters; the model configuration (JSON) is stored in the
//! file's metadata under `specreg_config`. The equivalent PyTorch modules are written out in
//! `crates/models/README.md`.

use std::collections::HashMap;

use burn::module::{Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::prelude::*;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::network::ModelError;
use crate::{Cnn, Mlp, Model};

/// Named tensors on their way into a safetensors file.
#[derive(Default)]
struct Writer {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
}

impl Writer {
    fn float<const D: usize>(&mut self, name: String, tensor: Tensor<D>) {
        let shape = tensor.dims().to_vec();
        let values: Vec<f32> = tensor.into_data().try_into_vec_as::<f32>().expect("f32 tensor data");
        self.tensors.push((name, Dtype::F32, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()));
    }

    fn linear(&mut self, prefix: &str, layer: &Linear) {
        self.float(format!("{prefix}.weight"), layer.weight.val().transpose());
        if let Some(bias) = &layer.bias {
            self.float(format!("{prefix}.bias"), bias.val());
        }
    }

    fn conv(&mut self, prefix: &str, conv: &Conv2d) {
        self.float(format!("{prefix}.weight"), conv.weight.val());
        if let Some(bias) = &conv.bias {
            self.float(format!("{prefix}.bias"), bias.val());
        }
    }

    fn batch_norm(&mut self, prefix: &str, norm: &BatchNorm) {
        self.float(format!("{prefix}.weight"), norm.gamma.val());
        self.float(format!("{prefix}.bias"), norm.beta.val());
        self.float(format!("{prefix}.running_mean"), norm.running_mean.value());
        self.float(format!("{prefix}.running_var"), norm.running_var.value());
        self.tensors.push((format!("{prefix}.num_batches_tracked"), Dtype::I64, vec![], 0i64.to_le_bytes().to_vec()));
    }

    fn finish(self, config_json: String) -> Result<Vec<u8>, ModelError> {
        let views = self
            .tensors
            .iter()
            .map(|(name, dtype, shape, bytes)| Ok((name.clone(), TensorView::new(*dtype, shape.clone(), bytes)?)))
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| ModelError::Safetensors(e.to_string()))?;
        // One metadata key only: safetensors writes a HashMap, and one key keeps the bytes deterministic.
        let metadata = HashMap::from([("specreg_config".to_string(), config_json)]);
        safetensors::serialize(views, Some(metadata)).map_err(|e| ModelError::Safetensors(e.to_string()))
    }
}

/// Named tensors read back from a safetensors file.
struct Reader<'a> {
    file: SafeTensors<'a>,
    device: Device,
}

impl Reader<'_> {
    fn float<const D: usize>(&self, name: &str, expected: [usize; D]) -> Result<Tensor<D>, ModelError> {
        let view = self.file.tensor(name).map_err(|_| ModelError::Safetensors(format!("tensor `{name}` is missing")))?;
        if view.dtype() != Dtype::F32 || view.shape() != expected {
            return Err(ModelError::Safetensors(format!("tensor `{name}`: expected f32 {expected:?}, found {:?} {:?}", view.dtype(), view.shape())));
        }
        let values: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok(Tensor::from_data(TensorData::new(values, expected), &self.device))
    }

    fn param<const D: usize>(&self, name: &str, current: &Param<Tensor<D>>) -> Result<Param<Tensor<D>>, ModelError> {
        Ok(Param::from_tensor(self.float(name, current.dims())?))
    }

    fn linear(&self, prefix: &str, layer: &mut Linear) -> Result<(), ModelError> {
        let [fan_in, fan_out] = layer.weight.dims();
        // Transposed on the host, so the weight is a plain contiguous tensor like a freshly built one.
        let torch: Vec<f32> = self
            .float::<2>(&format!("{prefix}.weight"), [fan_out, fan_in])?
            .into_data()
            .try_into_vec_as::<f32>()
            .map_err(|e| ModelError::Safetensors(format!("{e:?}")))?;
        let burn_layout: Vec<f32> = (0..fan_in * fan_out).map(|k| torch[(k % fan_out) * fan_in + k / fan_out]).collect();
        layer.weight = Param::from_tensor(Tensor::from_data(TensorData::new(burn_layout, [fan_in, fan_out]), &self.device));
        if let Some(bias) = &layer.bias {
            layer.bias = Some(self.param(&format!("{prefix}.bias"), bias)?);
        }
        Ok(())
    }

    fn conv(&self, prefix: &str, conv: &mut Conv2d) -> Result<(), ModelError> {
        conv.weight = self.param(&format!("{prefix}.weight"), &conv.weight)?;
        if let Some(bias) = &conv.bias {
            conv.bias = Some(self.param(&format!("{prefix}.bias"), bias)?);
        }
        Ok(())
    }

    fn batch_norm(&self, prefix: &str, norm: &mut BatchNorm) -> Result<(), ModelError> {
        norm.gamma = self.param(&format!("{prefix}.weight"), &norm.gamma)?;
        norm.beta = self.param(&format!("{prefix}.bias"), &norm.beta)?;
        let units = norm.gamma.dims();
        norm.running_mean = RunningState::new(self.float(&format!("{prefix}.running_mean"), units)?);
        norm.running_var = RunningState::new(self.float(&format!("{prefix}.running_var"), units)?);
        Ok(())
    }
}

/// The model's weights as a safetensors file (bytes), PyTorch names and layouts; `config_json` is
/// stored in the metadata so that the file describes the network it belongs to.
pub fn to_safetensors(model: &Model, config_json: String) -> Result<Vec<u8>, ModelError> {
    let mut w = Writer::default();
    match model {
        Model::Mlp(m) => write_mlp(&mut w, m),
        Model::Cnn(c) => write_cnn(&mut w, c),
    }
    w.finish(config_json)
}

/// Loads weights written by [`to_safetensors`] (or by PyTorch with the same names) into `model`,
/// which fixes the architecture; every tensor's name and shape is checked. The model keeps the mode
/// it came in: call `.valid()` on it to evaluate or attack it, or BatchNorm layers use batch
/// statistics on autodiff inputs.
pub fn from_safetensors(mut model: Model, bytes: &[u8]) -> Result<Model, ModelError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Safetensors(e.to_string()))?;
    let device = match &model {
        Model::Mlp(m) => m.readout.weight.device(),
        Model::Cnn(c) => c.readout.weight.device(),
    };
    let r = Reader { file, device };
    match &mut model {
        Model::Mlp(m) => read_mlp(&r, m)?,
        Model::Cnn(c) => read_cnn(&r, c)?,
    }
    Ok(model)
}

/// The configuration JSON stored in a safetensors file's metadata, if any.
pub fn safetensors_config(bytes: &[u8]) -> Result<Option<String>, ModelError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| ModelError::Safetensors(e.to_string()))?;
    Ok(metadata.metadata().as_ref().and_then(|m| m.get("specreg_config").cloned()))
}

fn write_mlp(w: &mut Writer, m: &Mlp) {
    for (k, layer) in m.layers.iter().enumerate() {
        w.linear(&format!("layers.{k}"), layer);
    }
    for (k, norm) in m.norms.iter().enumerate() {
        w.batch_norm(&format!("norms.{k}"), norm);
    }
    w.linear("readout", &m.readout);
}

fn read_mlp(r: &Reader<'_>, m: &mut Mlp) -> Result<(), ModelError> {
    for (k, layer) in m.layers.iter_mut().enumerate() {
        r.linear(&format!("layers.{k}"), layer)?;
    }
    for (k, norm) in m.norms.iter_mut().enumerate() {
        r.batch_norm(&format!("norms.{k}"), norm)?;
    }
    r.linear("readout", &mut m.readout)
}

fn write_cnn(w: &mut Writer, c: &Cnn) {
    for (k, conv) in c.convs.iter().enumerate() {
        w.conv(&format!("convs.{k}"), conv);
    }
    for (k, layer) in c.fully_connected.iter().enumerate() {
        w.linear(&format!("fully_connected.{k}"), layer);
    }
    w.linear("readout", &c.readout);
}

fn read_cnn(r: &Reader<'_>, c: &mut Cnn) -> Result<(), ModelError> {
    for (k, conv) in c.convs.iter_mut().enumerate() {
        r.conv(&format!("convs.{k}"), conv)?;
    }
    for (k, layer) in c.fully_connected.iter_mut().enumerate() {
        r.linear(&format!("fully_connected.{k}"), layer)?;
    }
    r.linear("readout", &mut c.readout)
}
