// Where each option's value came from — a line of the configuration file or a command-line
// flag — so that an error names what the operator wrote: "agent.yaml:12: smtp.tls_ports" for
// the file, "--smtp-tls-port" for the command line.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace mxs {

class Origins {
  public:
    // The configuration file's name as messages give it; "" without a file.
    explicit Origins(std::string file = {}) : file_(std::move(file)) {}

    // `field` ("domains[0].mx[1].host", "dns.ports[2]", "listen") was read at `line` (from 1).
    void line(const std::string& field, int line) { where_[field] = {line, {}}; }
    // The option `key` was given as `flag` on the command line (and its file value, if any,
    // overridden: the file's entries under it are forgotten).
    void flag(const std::string& key, const std::string& flag);

    // What an error about `field` starts with: "FILE:LINE: FIELD" when the file set it (or,
    // for a field the reader did not record, its nearest enclosing one: a list item's line),
    // "--flag" when the command line did, else "FILE: FIELD" (a default; "FIELD" without a
    // file).
    std::string where(std::string_view field) const;

    // Where alone: "FILE:LINE", "--flag", "FILE" (a default), "" (a default without a file).
    std::string prefix(std::string_view field) const;
    // How a message names an option it refers to: its flag when the command line gave it,
    // else its key ("--smtp-port", "smtp.ports").
    std::string name(std::string_view key) const;

    const std::string& file() const { return file_; }

  private:
    struct Where {
        int line = 0;
        std::string flag;
    };
    // The recorded field nearest to `field` (itself or an enclosing one), or nullptr.
    const Where* find(std::string_view field) const;
    std::string file_;
    std::map<std::string, Where, std::less<>> where_;
};

} // namespace mxs
