// The agent's HTTP connections over plain HTTP (http_session.h's Session, instantiated here alone).
#include "views/http_session.h"

namespace mxs::http_session {

void start_plain(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared) {
    std::make_shared<Session<beast::tcp_stream>>(std::move(socket), std::move(shared))->start();
}

} // namespace mxs::http_session
