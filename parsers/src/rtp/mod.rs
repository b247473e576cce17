//! rtp (being written).
