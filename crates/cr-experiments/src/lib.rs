//! cr-experiments (work in progress).
