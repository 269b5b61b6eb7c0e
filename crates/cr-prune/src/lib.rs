//! cr-prune (work in progress).
