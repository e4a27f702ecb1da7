// The agent's HTTP connections over TLS (http_session.h's Session, instantiated here alone).
#include "views/http_session.h"

namespace mxs::http_session {

void start_tls(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared,
               std::shared_ptr<boost::asio::ssl::context> tls) {
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
        std::move(socket), std::move(shared), std::move(tls))
        ->start();
}

} // namespace mxs::http_session
