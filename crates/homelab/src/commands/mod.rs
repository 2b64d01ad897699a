//! One module per command: each takes parsed arguments, calls the compile
//! and operate libraries, prints, and returns the exit status.

pub mod backup;
pub mod backup_fleet;
pub mod build;
pub mod catalog;
pub mod check;
pub mod deploy;
pub mod help;
pub mod init;
pub mod install;
pub mod plan;
pub mod recover;
pub mod report;
pub mod restore;
pub mod secrets;
pub mod show;
pub mod status;
pub mod upgrade;
pub mod verify;
