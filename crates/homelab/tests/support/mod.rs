pub mod nixos_options;
