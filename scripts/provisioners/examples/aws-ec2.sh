#!/usr/bin/env bash
# An example provisioner for the ssh backend on AWS EC2 (docs/ssh.md, "Hosts from a
# provisioner"). NOT run by the tests: no cloud is reachable from the machines troupe is tested
# on. Needs the AWS CLI, jq, and an AMI with troupe's runtime packages and the node programs.
#
#   "provisioner": {"create": "scripts/provisioners/examples/aws-ec2.sh create",
#                   "destroy": "scripts/provisioners/examples/aws-ec2.sh destroy", "ttl": "2h"}
#
# Settings (environment): TROUPE_AWS_AMI, TROUPE_AWS_TYPE (default c6i.large), TROUPE_AWS_KEY
# (the key pair's name), TROUPE_AWS_IDENTITY (its private key file here), TROUPE_AWS_SUBNET,
# TROUPE_AWS_SG (a security group admitting ssh from here and every port within the group).
set -euo pipefail

case "${1:-}" in
  create)
    count="$2"; shift 2
    labels=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
    # Tagged with the run and its expiry, so that a sweep by tag finds what troupe lost.
    ids=$(aws ec2 run-instances --image-id "$TROUPE_AWS_AMI" --count "$count" \
      --instance-type "${TROUPE_AWS_TYPE:-c6i.large}" --key-name "$TROUPE_AWS_KEY" \
      --subnet-id "$TROUPE_AWS_SUBNET" --security-group-ids "$TROUPE_AWS_SG" \
      --instance-initiated-shutdown-behavior terminate \
      --tag-specifications "ResourceType=instance,Tags=[{Key=troupe.run,Value=$TROUPE_RUN_ID},{Key=troupe.expires-at,Value=$TROUPE_EXPIRES_AT}]" \
      --query 'Instances[].InstanceId' --output text)
    aws ec2 wait instance-running --instance-ids $ids
    aws ec2 describe-instances --instance-ids $ids \
      --query 'Reservations[].Instances[].{name: InstanceId, address: PrivateIpAddress}' --output json |
      jq --arg id "$TROUPE_AWS_IDENTITY" --argjson labels "$labels" \
        '{hosts: [.[] | . + {user: "admin", identity: $id, labels: $labels}]}'
    ;;
  destroy)
    ids=$(jq -r '.hosts[].name' "$2")
    [ -n "$ids" ] && aws ec2 terminate-instances --instance-ids $ids >/dev/null
    echo "terminated: $ids"
    ;;
  *) echo "usage: aws-ec2.sh create COUNT [LABEL...] | destroy HOSTS_FILE" >&2; exit 2 ;;
esac
