# Homebrew formula for RayVault.
#
# RayVault is not in a public tap: "make dist" writes the release tarball
# and, beside it, a copy of this formula whose url and sha256 are that
# tarball's.  Install it from a local tap (README, "Installing"):
#
#   make dist
#   brew tap-new --no-git local/rayvault
#   cp rayvault.rb "$(brew --repository local/rayvault)/Formula/"
#   brew install local/rayvault/rayvault
#   brew services start rayvault
#
# The url and sha256 below are placeholders that make dist replaces.
class Rayvault < Formula
  desc "Supervised worker that renders queued review videos, with its CLI"
  homepage "https://rayvault.invalid/"
  url "file:///dev/null/rayvault-0.2.0.tar.gz"
  version "0.2.0"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "ISC"

  depends_on "pkg-config" => :build
  depends_on "cjson"
  depends_on "curl"
  depends_on "espeak-ng"
  depends_on "ffmpeg"
  depends_on "libmicrohttpd"
  depends_on "sqlite"
  depends_on "zeromq"

  on_linux do
    depends_on "libbsd"
  end

  def install
    system "make", "install", "PREFIX=#{prefix}"
  end

  def post_install
    # state and spool of the service below: the operator's only (0700)
    (var/"rayvault/state").mkpath
    (var/"rayvault/spool").mkpath
    (var/"log/rayvault").mkpath
    chmod 0700, var/"rayvault"
  end

  def caveats
    <<~EOS
      The service runs in #{var}/rayvault and reads its settings from
      #{var}/rayvault/.env (man 5 rayvault.env):
        cp #{pkgshare}/env.example #{var}/rayvault/.env
        chmod 600 #{var}/rayvault/.env
      The Dzine renderer needs Chromium:
        brew install --cask chromium
      A second job that runs "rvctl doctor --alert" every 5 minutes is in
      #{pkgshare}/contrib/launchd.
    EOS
  end

  service do
    run [opt_bin/"rvsup", "start", "--state-dir", var/"rayvault/state"]
    working_dir var/"rayvault"
    environment_variables PATH:               std_service_path_env,
                          RAYVAULT_SPOOL_DIR: var/"rayvault/spool"
    keep_alive crashed: true
    process_type :interactive
    log_path var/"log/rayvault/rvsup.log"
    error_log_path var/"log/rayvault/rvsup.log"
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/rvsup --version")
    assert_match "status", shell_output("#{bin}/rvctl --help")
    system bin/"rvctl", "--state-dir", testpath/"state", "runs"
  end
end
