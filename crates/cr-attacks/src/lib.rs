//! cr-attacks (work in progress).
