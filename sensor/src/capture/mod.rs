//! Capture sources.
