//! cr-data (work in progress).
