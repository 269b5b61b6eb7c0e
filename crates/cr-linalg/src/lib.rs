//! cr-linalg (work in progress).
