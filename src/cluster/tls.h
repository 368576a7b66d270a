// cluster::TlsOptions: node-to-node TLS settings (-node-cert, -node-key,
// -node-ca-cert, -node-no-verify, -node-verify-client,
// -node-verify-server-name, -node-verify-common-name). A value type copied
// into Transport::Config and Client::Config; TLS is on when cert_file is set.
// Thread-safety: a plain struct.
#pragma once

#include <string>

namespace rq::cluster {

struct TlsOptions {
  std::string cert_file;  // PEM chain; presented as server and as client cert
  std::string key_file;   // PEM private key
  std::string ca_file;    // verifies peers; empty: the system's default paths
  bool no_verify = false;       // dialing side: accept any server certificate
  bool verify_client = false;   // listening side: require a verified client cert
  std::string server_name;      // expected in server certs instead of the dialed host
  std::string common_name;      // required CN of incoming client certs (needs verify_client)

  bool enabled() const { return !cert_file.empty(); }
};

}  // namespace rq::cluster
