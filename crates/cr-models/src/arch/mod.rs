//! The architectures. Each exposes `features` (the encoder Φ, returning `[B, h]`) and
//! `forward` (`head(features(x))`, returning logits `[B, classes]`) on NCHW inputs.

pub mod cnn;
pub mod fcn;
pub mod preact;
pub mod resnet;
pub mod vgg;
pub mod vgg_tv;
pub mod vit;
pub mod wrn;
