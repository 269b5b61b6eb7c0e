//! cr-regularize (work in progress).
