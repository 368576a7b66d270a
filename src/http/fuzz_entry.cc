// FuzzHttpRequestParsers: the shared fuzzing entry point (request_parser.h).
#include <string_view>

#include "http/query_params.h"
#include "http/request_parser.h"
#include "http/response_json.h"

namespace rq::http {

void FuzzHttpRequestParsers(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view query = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  const QueryParams params = QueryParams::Parse(query);
  if (params.Validate().ok()) {
    const CallOptions options = params.ToCallOptions();
    RQ_ASSERT(options.retries >= 0);
    if (params.Has("freshness_strict")) RQ_ASSERT(options.freshness.count() != 0);
  }
  (void)ParseGoDuration(query);
  (void)ParseGoInt(query);

  for (bool plain : {false, true}) {
    Result<command::Request> request = plain ? ParsePlainRequest(body) : ParseJsonRequest(body);
    if (!request.ok()) {
      RQ_ASSERT(request.status().IsInvalidArgument());
      continue;
    }
    RQ_ASSERT(!request->statements.empty());
    // Echo the parameters back through the renderer as one result row.
    command::Response response;
    for (const auto& statement : request->statements) {
      command::StatementResult result;
      result.has_rows = true;
      result.columns.push_back(statement.sql);
      result.types.push_back("text");
      std::vector<command::Value> row;
      for (const auto& parameter : statement.parameters) row.push_back(parameter.value);
      result.values.push_back(std::move(row));
      response.results.push_back(std::move(result));
    }
    RenderOptions options;
    options.pretty = params.pretty();
    options.associative = params.associative();
    options.blob_array = params.blob_array();
    const std::string json = RenderResponse(response, options);
    RQ_ASSERT(json.size() >= 2);
    RQ_ASSERT(json.front() == '{');
  }
}

}  // namespace rq::http
