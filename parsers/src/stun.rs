//! STUN (being written).
