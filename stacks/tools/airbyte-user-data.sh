#!/bin/bash
# The Airbyte host's boot script (issue 11). stacks/tools/airbyte-stack.ts fills the placeholder values (at-signs around a name)
# and ships it as the instance's user data, with a cloud-config part that runs it at EVERY boot: a
# reboot, a stop/start with changed user data (new versions, a new URL) or a replaced instance all
# run it again, so each step looks before it acts. Everything goes to $LOG_FILE (the CloudWatch
# agent ships it); no secret is ever written there: no `set -x`, and the API credentials travel
# through 0600 files only.
set -euo pipefail

readonly ABCTL_VERSION="@ABCTL_VERSION@"
readonly CHART_VERSION="@CHART_VERSION@"
readonly AIRBYTE_URL="@AIRBYTE_URL@"
readonly LOW_RESOURCE_MODE="@LOW_RESOURCE_MODE@"
readonly INSECURE_COOKIES="@INSECURE_COOKIES@"
readonly BUCKET="@BUCKET@"
readonly REGION="@REGION@"
readonly CLIENT_ID_PARAMETER="@CLIENT_ID_PARAMETER@"
readonly CLIENT_SECRET_PARAMETER="@CLIENT_SECRET_PARAMETER@"
readonly LOG_GROUP="@LOG_GROUP@"
readonly TOOL_HOST="@TOOL_HOST@"

readonly STATE_DIR=/var/lib/tapestry-airbyte
readonly LOG_FILE=/var/log/tapestry-airbyte.log
readonly VALUES_FILE="$STATE_DIR/values.yaml"
readonly KIND_NODE=airbyte-abctl-control-plane
readonly CW_AGENT_CONFIG=/opt/aws/amazon-cloudwatch-agent/etc/tapestry-airbyte.json

# abctl keeps its cluster data under ~/.airbyte, and cloud-init may run this without HOME.
export HOME=/root
export AWS_DEFAULT_REGION="$REGION"
export DO_NOT_TRACK=1

install -d -m 0700 "$STATE_DIR"
touch "$LOG_FILE"
chmod 0600 "$LOG_FILE"
exec > >(tee -a "$LOG_FILE") 2>&1

log() { printf '%s tapestry-airbyte: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
fail() {
  log "FAILED: $*"
  log "FAILED: the host is not ready; fix the cause, then reboot the instance (this script runs at every boot)"
  exit 1
}
WORK_DIR="$(mktemp -d)"
readonly WORK_DIR
trap 'rm -rf "$WORK_DIR"' EXIT
trap 'log "FAILED: line $LINENO exited $? (see above); reboot the instance to run this script again"' ERR

log "start: abctl $ABCTL_VERSION, chart $CHART_VERSION, $AIRBYTE_URL"

# --- packages: Docker (kind runs in it), jq, the CloudWatch agent ---------------------------------
for package in docker jq amazon-cloudwatch-agent; do
  if ! rpm -q "$package" >/dev/null 2>&1; then
    dnf install -y "$package" || fail "dnf could not install $package"
  fi
done
systemctl enable --now docker
# kind's nodes run many pods: the default inotify limits are too low for them
cat >/etc/sysctl.d/90-tapestry-airbyte.conf <<'EOF'
fs.inotify.max_user_instances = 512
fs.inotify.max_user_watches = 524288
EOF
sysctl --quiet --load /etc/sysctl.d/90-tapestry-airbyte.conf

# --- CloudWatch agent: CPU, memory and disk metrics, and this log --------------------------------
cat >"$CW_AGENT_CONFIG" <<EOF
{
  "agent": { "metrics_collection_interval": 60 },
  "metrics": {
    "append_dimensions": { "InstanceId": "\${aws:InstanceId}" },
    "aggregation_dimensions": [["ToolHost"]],
    "metrics_collected": {
      "cpu": {
        "measurement": ["usage_active", "usage_iowait"],
        "totalcpu": true,
        "append_dimensions": { "ToolHost": "$TOOL_HOST" }
      },
      "mem": { "measurement": ["used_percent"], "append_dimensions": { "ToolHost": "$TOOL_HOST" } },
      "disk": {
        "measurement": ["used_percent"],
        "resources": ["/"],
        "append_dimensions": { "ToolHost": "$TOOL_HOST" }
      }
    }
  },
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          { "file_path": "$LOG_FILE", "log_group_name": "$LOG_GROUP", "log_stream_name": "{instance_id}" }
        ]
      }
    }
  }
}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c "file:$CW_AGENT_CONFIG" >/dev/null || fail "the CloudWatch agent did not start"

# --- abctl, the pinned release, its sha256 checked against the release's checksums file ----------
if [ "$(abctl version 2>/dev/null | head -n 1 || true)" != "version: $ABCTL_VERSION" ]; then
  tarball="abctl-$ABCTL_VERSION-linux-amd64.tar.gz"
  checksums="abctl_${ABCTL_VERSION#v}_checksums.txt"
  release="https://github.com/airbytehq/abctl/releases/download/$ABCTL_VERSION"
  for file in "$tarball" "$checksums"; do
    curl --proto '=https' --tlsv1.2 -fsSL --retry 5 --retry-all-errors -o "$WORK_DIR/$file" "$release/$file" ||
      fail "could not download $release/$file"
  done
  grep -E "^[0-9a-f]{64}  $tarball\$" "$WORK_DIR/$checksums" >"$WORK_DIR/expected.sha256" ||
    fail "$checksums lists no sha256 for $tarball"
  (cd "$WORK_DIR" && sha256sum --check --strict --quiet expected.sha256) ||
    fail "$tarball does not match its sha256 in $checksums"
  tar -xzf "$WORK_DIR/$tarball" -C "$WORK_DIR"
  install -m 0755 "$WORK_DIR/abctl-$ABCTL_VERSION-linux-amd64/abctl" /usr/local/bin/abctl
  log "abctl $ABCTL_VERSION installed (sha256 verified)"
fi
export PATH="/usr/local/bin:$PATH"

# --- the Helm values: the public URL, and S3 (through the instance role) for logs and state -------
cat >"$VALUES_FILE.new" <<EOF
global:
  airbyteUrl: "$AIRBYTE_URL"
  storage:
    type: s3
    bucket:
      log: "$BUCKET"
      state: "$BUCKET"
      workloadOutput: "$BUCKET"
      activityPayload: "$BUCKET"
      auditLogging: "$BUCKET"
    s3:
      region: "$REGION"
      authenticationType: instanceProfile
minio:
  enabled: false
EOF
chmod 0600 "$VALUES_FILE.new"
mv "$VALUES_FILE.new" "$VALUES_FILE"

# --- install (or upgrade) Airbyte when what is asked differs from what was installed -------------
install_args=(local install --chart-version "$CHART_VERSION" --values "$VALUES_FILE" --no-browser)
if [ "$LOW_RESOURCE_MODE" = "true" ]; then install_args+=(--low-resource-mode); fi
if [ "$INSECURE_COOKIES" = "true" ]; then install_args+=(--insecure-cookies); fi
wanted="$(printf '%s\n' "$ABCTL_VERSION" "${install_args[*]}" | cat - "$VALUES_FILE" | sha256sum | cut -d ' ' -f 1)"

# after a reboot, kind's node container may need starting before anything can answer
if [ "$(docker inspect --format '{{.State.Running}}' "$KIND_NODE" 2>/dev/null || true)" = "false" ]; then
  docker start "$KIND_NODE" >/dev/null || fail "could not start the kind node $KIND_NODE"
fi

# Airbyte's health route through abctl's ingress (port 8000 answers any Host: the install has no --host)
healthy() { curl -fsS --max-time 10 -o /dev/null "http://localhost:8000/api/v1/health"; }
wait_healthy() {
  local attempt
  for attempt in $(seq 1 "$1"); do
    if healthy; then return 0; fi
    if [ "$attempt" -lt "$1" ]; then sleep 10; fi
  done
  return 1
}

installed="$(cat "$STATE_DIR/installed" 2>/dev/null || true)"
# after a reboot the pods take minutes to come back: wait for them before deciding to reinstall
if [ "$installed" = "$wanted" ] && wait_healthy 60; then
  log "Airbyte is installed as asked and healthy; no install needed"
else
  log "abctl ${install_args[*]} (this may take up to 30 minutes)"
  abctl "${install_args[@]}" || fail "abctl local install failed (its output is above)"
  wait_healthy 60 || fail "Airbyte was installed but http://localhost:8000/api/v1/health does not answer 200"
  printf '%s\n' "$wanted" >"$STATE_DIR/installed"
  log "Airbyte installed"
fi

# --- the application's client id and secret, into the two SecureString parameters ---------------
if [ "$(cat "$STATE_DIR/credentials-written" 2>/dev/null || true)" != "$wanted" ]; then
  umask 077
  abctl local credentials >"$WORK_DIR/credentials" 2>&1 || fail "abctl local credentials failed"
  # abctl prints "Client-Id: <id>" and "Client-Secret: <secret>" lines, maybe coloured and indented
  sed -e 's/\x1b\[[0-9;]*m//g' "$WORK_DIR/credentials" >"$WORK_DIR/credentials.plain"
  sed -n -e 's/^[[:space:]]*Client-Id:[[:space:]]*\([^[:space:]]*\).*$/\1/p' \
    "$WORK_DIR/credentials.plain" | head -n 1 | tr -d '\n' >"$WORK_DIR/client-id"
  sed -n -e 's/^[[:space:]]*Client-Secret:[[:space:]]*\([^[:space:]]*\).*$/\1/p' \
    "$WORK_DIR/credentials.plain" | head -n 1 | tr -d '\n' >"$WORK_DIR/client-secret"
  if [ ! -s "$WORK_DIR/client-id" ] || [ ! -s "$WORK_DIR/client-secret" ]; then
    fail "abctl local credentials printed no Client-Id / Client-Secret line (has its output changed?)"
  fi
  for pair in "$CLIENT_ID_PARAMETER:client-id" "$CLIENT_SECRET_PARAMETER:client-secret"; do
    parameter="${pair%:*}"
    jq -n --arg name "$parameter" --rawfile value "$WORK_DIR/${pair##*:}" \
      '{Name: $name, Value: $value, Type: "SecureString", Overwrite: true}' >"$WORK_DIR/put-parameter.json"
    aws ssm put-parameter --cli-input-json "file://$WORK_DIR/put-parameter.json" >/dev/null ||
      fail "could not write the SSM parameter $parameter"
    log "wrote $parameter"
  done
  printf '%s\n' "$wanted" >"$STATE_DIR/credentials-written"
fi

log "READY: Airbyte answers at $AIRBYTE_URL"
