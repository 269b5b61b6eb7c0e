//! cr-train (work in progress).
