// One HTTP request as the agent's handlers see it, and their response (HttpServer parses and
// writes the wire form, RFC 9112).
#pragma once

#include <string>

namespace mxs {

struct HttpResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::string allow; // the Allow field of a 405 (RFC 9110 §15.5.6), e.g. "GET, HEAD"
};

struct HttpRequest {
    std::string method;
    std::string target;
    std::string authorization; // the Authorization header, if any
    std::string body;
};

} // namespace mxs
