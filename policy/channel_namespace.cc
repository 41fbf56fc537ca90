#include "policy/channel_namespace.h"

#include <algorithm>

#include "protocol/md5_auth.h"

namespace pgtenant::policy {

std::string ChannelNamespace(const config::TenantConfig& tenant) {
  if (tenant.isolation == config::IsolationMode::kDatabase) return std::string();
  return "t" + protocol::Md5Hex(tenant.id).substr(0, 16) + ".";
}

std::string ApplyEdits(std::string_view text, std::vector<TextEdit> edits) {
  std::sort(edits.begin(), edits.end(), [](const TextEdit& a, const TextEdit& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(text.size() + 32 * edits.size());
  size_t at = 0;
  for (const TextEdit& edit : edits) {
    out.append(text.substr(at, edit.begin - at));
    out.append(edit.text);
    at = edit.end;
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace pgtenant::policy
