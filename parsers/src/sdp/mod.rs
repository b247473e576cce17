//! sdp (being written).
