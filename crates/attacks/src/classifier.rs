//! The one thing an attack needs from a model.

use burn::prelude::*;

/// A classifier of `D`-dimensional input batches with values in [0, 1], returning logits
/// (batch × classes).
///
/// Any burn model can be attacked: implement this trait, or pass a closure, since every
/// `Fn(Tensor<D>) -> Tensor<2>` implements it. Gradients with respect to the input are taken by
/// enabling autodiff on the input alone, so a model in evaluation mode (`model.valid()`, no autodiff on
/// its parameters) is attacked without computing parameter gradients.
pub trait Classifier<const D: usize> {
    /// Logits (batch × classes) of a batch of inputs in [0, 1].
    fn logits(&self, inputs: Tensor<D>) -> Tensor<2>;
}

impl<const D: usize, F: Fn(Tensor<D>) -> Tensor<2>> Classifier<D> for F {
    fn logits(&self, inputs: Tensor<D>) -> Tensor<2> {
        self(inputs)
    }
}
