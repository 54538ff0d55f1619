//! Test support shared by the three adapters (not published).
