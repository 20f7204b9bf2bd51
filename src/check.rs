//! Evaluates a lesson's claims against an experiment's observations.
