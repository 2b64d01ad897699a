# homelab as a flake: the package a generated homelab flake takes as its
# `homelab` input, and the NixOS module every generated host imports
# (`nixosModules.default`: the package, on the PATH, for the backup, drill
# and preseed units).
{
  description = "homelab: one homelab.toml to a checked NixOS flake, and the commands that keep its data safe";

  # The nixpkgs revision nixos-options/release.json pins (the one the
  # option facts were read from and generated flakes use).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/4aa6836a648ca76c68866decf0c8965e36ec2a3b";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forEachSystem = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      # What a generated host imports from this flake: `homelab.package`
      # (this flake's package for the host's platform), which the units of
      # `hosts/<host>/operations.nix` run, and on the admin's PATH.
      nixosModules.default =
        {
          config,
          lib,
          pkgs,
          ...
        }:
        {
          options.homelab.package = lib.mkOption {
            type = lib.types.package;
            default = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
            defaultText = lib.literalExpression "homelab.packages.\${pkgs.stdenv.hostPlatform.system}.default";
            description = "The homelab package the backup, drill and preseed units run.";
          };
          config.environment.systemPackages = [ config.homelab.package ];
        };

      packages = forEachSystem (pkgs: {
        default = pkgs.rustPlatform.buildRustPackage {
          pname = "homelab";
          version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).workspace.package.version;
          # The cargo workspace only: the crates, the lock file, and what
          # they embed at build time (the examples, nixos-options/release.json).
          src = pkgs.lib.fileset.toSource {
            root = ./.;
            fileset = pkgs.lib.fileset.unions [
              ./Cargo.toml
              ./Cargo.lock
              ./crates
              ./examples
              ./nixos-options
            ];
          };
          cargoLock.lockFile = ./Cargo.lock;
          cargoBuildFlags = [ "--package" "homelab" ];
          # Shell completions and the manual page, made by the binary from
          # its own command-line definition (`homelab completions`,
          # `homelab man`); skipped when the build cannot run what it built.
          nativeBuildInputs = [ pkgs.installShellFiles ];
          postInstall = pkgs.lib.optionalString (pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform) ''
            installShellCompletion --cmd homelab \
              --bash <($out/bin/homelab completions bash) \
              --fish <($out/bin/homelab completions fish) \
              --zsh <($out/bin/homelab completions zsh)
            $out/bin/homelab man > homelab.1
            installManPage homelab.1
          '';
          # The test suite starts PostgreSQL, sshd and Chromium and runs
          # restic, age and nix-instantiate: none of that exists in the
          # build sandbox. CI runs it (`cargo test --workspace`).
          doCheck = false;
          meta = {
            description = "One homelab.toml to a checked NixOS flake, with backups, drills and restores";
            homepage = "https://github.com/homelab-nix/homelab";
            license = pkgs.lib.licenses.mit;
            mainProgram = "homelab";
          };
        };
      });
    };
}
