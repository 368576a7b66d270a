// http_floor: the fastest a Boost.Beast server shaped like ours can answer on
// this machine, the floor under bench/read_floor.sh's ratio. It has the same
// I/O structure as src/http/server.cc (one io_context per thread, one
// acceptor, connections dealt to the threads in turn, HTTP/1.1 keep-alive)
// and answers every request with a fixed JSON body (the one a node gave for
// the benchmark's query), doing no parsing, SQL or JSON work.
//
// Usage: http_floor PORT BODY_FILE [THREADS=2]
// Prints "listening on 127.0.0.1:PORT" once it accepts, then runs until
// killed.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const std::string& body) : socket_(std::move(socket)), body_(body) {}
  void Start() { Read(); }

 private:
  void Read() {
    request_ = {};
    http::async_read(socket_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      self->Answer();
    });
  }
  void Answer() {
    response_ = {};
    response_.result(http::status::ok);
    response_.version(request_.version());
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = body_;
    response_.prepare_payload();
    http::async_write(socket_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->response_.keep_alive()) return;
      self->Read();
    });
  }

  tcp::socket socket_;
  const std::string& body_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PORT BODY_FILE [THREADS]\n", argv[0]);
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::stoi(argv[1]));
  std::ifstream in(argv[2], std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const int threads = argc > 3 ? std::max(1, std::stoi(argv[3])) : 2;

  std::vector<std::unique_ptr<net::io_context>> iocs;
  for (int i = 0; i < threads; ++i) iocs.push_back(std::make_unique<net::io_context>(1));
  tcp::acceptor acceptor(*iocs[0], tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  size_t next = 0;
  std::function<void()> accept = [&] {
    net::io_context& target = *iocs[next++ % iocs.size()];
    acceptor.async_accept(target, [&](beast::error_code ec, tcp::socket socket) {
      if (!ec) std::make_shared<Session>(std::move(socket), body)->Start();
      accept();
    });
  };
  accept();
  std::printf("listening on 127.0.0.1:%u\n", port);
  std::fflush(stdout);
  std::vector<std::thread> pool;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& ioc : iocs) guards.push_back(net::make_work_guard(*ioc));
  for (size_t i = 1; i < iocs.size(); ++i) pool.emplace_back([&ioc = *iocs[i]] { ioc.run(); });
  iocs[0]->run();
  for (std::thread& t : pool) t.join();
  return 0;
}
