//! cr-bounds (work in progress).
