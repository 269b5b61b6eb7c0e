//! cr-models (work in progress).
