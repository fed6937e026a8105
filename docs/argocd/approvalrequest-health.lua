-- Argo CD health check for aegis.valina.ai/ApprovalRequest (argocd-cm key
-- resource.customizations.health.aegis.valina.ai_ApprovalRequest; see docs/argocd.md).
--   Pending  -> Progressing (waits for a person: approve with kubectl aegis approve)
--   Approved -> Healthy
--   Rejected -> Degraded    (a new change needs a new request)
--   Expired  -> Degraded    (the next apply of the change opens a fresh request)
--   Used     -> Healthy     (a singleUse approval admitted its change once)
--   no status/phase yet -> Progressing
local hs = {}

local function target()
  local t = obj.spec and obj.spec.target
  if t == nil then return "its target" end
  local where = t.name or "?"
  if t.namespace ~= nil and t.namespace ~= "" then where = t.namespace .. "/" .. where end
  return (t.kind or "object") .. " " .. where
end

local function approvals()
  local s = obj.status
  return tostring(s.approvals or 0) .. "/" .. tostring(s.requiredApprovals or 1) .. " approvals"
end

local function lastDecision(kind)
  local decisions = obj.spec and obj.spec.decisions
  if decisions == nil then return nil end
  for i = #decisions, 1, -1 do
    if decisions[i].decision == kind then return decisions[i] end
  end
  return nil
end

if obj.status == nil or obj.status.phase == nil or obj.status.phase == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for AEGIS to evaluate the request for " .. target()
  return hs
end

local phase = obj.status.phase
local name = obj.metadata.name
local ns = obj.metadata.namespace or "default"

if phase == "Pending" then
  hs.status = "Progressing"
  hs.message = "Pending (" .. approvals() .. ") for " .. target() .. "; approve with: kubectl aegis approve " .. name .. " -n " .. ns
elseif phase == "Approved" then
  hs.status = "Healthy"
  hs.message = "Approved (" .. approvals() .. ") for " .. target()
elseif phase == "Rejected" then
  hs.status = "Degraded"
  local d = lastDecision("Reject")
  if d ~= nil then
    hs.message = "Rejected by " .. (d.user or "?")
    if d.comment ~= nil and d.comment ~= "" then hs.message = hs.message .. ": " .. d.comment end
    hs.message = hs.message .. " (" .. target() .. ")"
  else
    hs.message = "Rejected (" .. target() .. ")"
  end
elseif phase == "Used" then
  hs.status = "Healthy"
  hs.message = "Used (" .. approvals() .. ") for " .. target() .. "; singleUse: applying the change again needs a new approval"
elseif phase == "Expired" then
  hs.status = "Degraded"
  hs.message = "Expired"
  if obj.status.expiresAt ~= nil then hs.message = hs.message .. " at " .. obj.status.expiresAt end
  hs.message = hs.message .. " with " .. approvals() .. " for " .. target() .. "; apply the change again to open a new request"
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(phase)
end
return hs
