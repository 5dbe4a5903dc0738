//! Every CLI's classification held against a table of real commands.

use super::*;

use Class::{Destructive as D, Mutating as M, ReadOnly as R, Unknown as U};

/// Real commands and what they do, one per line: `CLASS | COMMAND`, where CLASS is R
/// (read-only), M (mutating), U (unknown: not in the CLI's vocabulary) or D (destructive) and
/// the command's first word, its binary, names the CLI. `#` starts a comment line.
const TABLE: &str = r#"
# gcloud
R | gcloud compute instances list
R | gcloud compute instances list --filter=name~delete
R | gcloud --project p compute instances list
R | gcloud compute instances list --project p --format json
R | gcloud compute instances describe delete-me --zone us-central1-a
D | gcloud compute instances delete vm1 --zone us-central1-a --quiet
M | gcloud compute instances stop vm1 --zone us-central1-a
# an instance named `list`: `start` is the verb
M | gcloud compute instances start list
R | gcloud compute instances get-serial-port-output vm1
R | gcloud compute instances tail-serial-port-output vm1
M | gcloud compute instances add-metadata vm1 --metadata k=v
D | gcloud compute ssh vm1 --command uptime
M | gcloud compute scp ./dump.sql vm1:/tmp/
R | gcloud compute os-login ssh-keys list
M | gcloud compute instance-groups managed rolling-action restart web
D | gcloud compute instance-groups managed delete-instances web --instances=a
R | gcloud logging read "severity=ERROR" --limit 10
R | gcloud logging logs list
D | gcloud logging logs delete my-log
R | gcloud functions logs read my-fn --limit 50
R | gcloud app logs tail -s default
R | gcloud container clusters list
M | gcloud container clusters get-credentials prod --region europe-west1
M | gcloud container clusters resize prod --num-nodes 0
R | gcloud auth list
M | gcloud auth print-access-token
R | gcloud config list
R | gcloud config get-value project
M | gcloud config set project p
R | gcloud projects get-iam-policy p
M | gcloud projects add-iam-policy-binding p --member=user:a@b.c --role=roles/viewer
D | gcloud projects remove-iam-policy-binding p --member=user:a@b.c --role=roles/viewer
D | gcloud projects delete p
R | gcloud sql instances describe db1
D | gcloud sql instances delete db1
D | gcloud sql connect db1 --user postgres
R | gcloud storage ls gs://bucket
R | gcloud storage cat gs://bucket/config.json
M | gcloud storage cp app.log gs://bucket/
D | gcloud storage rm gs://bucket/old.log
D | gcloud storage rsync dir gs://bucket --delete-unmatched-destination-objects
R | gcloud run services describe api --region europe-west1
M | gcloud run deploy api --image gcr.io/p/api:v2
R | gcloud beta run services list
R | gcloud deploy releases list --delivery-pipeline=p
M | gcloud secrets versions access latest --secret db-password
M | gcloud pubsub topics publish t --message hello
M | gcloud services enable compute.googleapis.com
R | gcloud help compute instances delete
R | gcloud compute instances delete vm1 --help
R | gcloud version
U | gcloud compute instances frobnicate vm1
D | gcloud compute disks snapshot disk1 --force
# `--` before the verb: the parser may still take what follows as the command
D | gcloud -- compute instances delete vm1
R | gcloud
R | gcloud --help
# a group with no verb is a usage error at best
U | gcloud compute instances
U | gcloud alpha
# an unknown flag took the word that may be the command
U | gcloud --mystery compute

# aws
R | aws s3 ls
R | aws s3 ls s3://bucket/logs/ --recursive
D | aws s3 rm s3://bucket/key
D | aws s3 rb s3://bucket --force
M | aws s3 cp app.log s3://bucket/
M | aws s3 cp s3://bucket/key -
M | aws s3 sync . s3://bucket
D | aws s3 sync . s3://bucket --delete
M | aws s3 presign s3://bucket/key
R | aws s3api list-buckets
D | aws s3api delete-bucket --bucket b
R | aws ec2 describe-instances
R | aws --region eu-west-1 ec2 describe-instances
R | aws --profile prod --output json ec2 describe-instances --query Reservations[].Instances[].InstanceId
R | aws ec2 describe-instances --filters Name=tag:Name,Values=delete-me
D | aws ec2 terminate-instances --instance-ids i-0abc
M | aws ec2 stop-instances --instance-ids i-0abc
M | aws ec2 start-instances --instance-ids i-0abc
M | aws ec2 create-snapshot --volume-id vol-1
D | aws ec2 revoke-security-group-ingress --group-id sg-1 --protocol tcp --port 22 --cidr 0.0.0.0/0
D | aws ec2 release-address --allocation-id eipalloc-1
R | aws ec2 wait instance-running --instance-ids i-0abc
R | aws ec2 help
R | aws ec2 terminate-instances help
R | aws logs tail /aws/lambda/checkout --follow
R | aws logs filter-log-events --log-group-name /aws/lambda/checkout --filter-pattern ERROR
R | aws logs get-log-events --log-group-name g --log-stream-name s
R | aws logs start-query --log-group-name g --start-time 1 --end-time 2 --query-string fields
D | aws logs delete-log-group --log-group-name g
R | aws iam list-users
D | aws iam delete-user --user-name bob
M | aws iam detach-role-policy --role-name r --policy-arn arn
R | aws sts get-caller-identity
M | aws secretsmanager get-secret-value --secret-id prod/db
M | aws ecr get-login-password
D | aws ecr batch-delete-image --repository-name r --image-ids imageTag=old
R | aws ssm get-parameter --name /app/url
M | aws ssm get-parameter --name /app/db-password --with-decryption
D | aws ssm send-command --document-name AWS-RunShellScript --targets Key=tag:role,Values=web
R | aws dynamodb scan --table-name orders
R | aws dynamodb query --table-name orders --key-condition-expression pk=:p
M | aws dynamodb put-item --table-name orders --item file://item.json
D | aws rds delete-db-instance --db-instance-identifier db1 --skip-final-snapshot
R | aws cloudformation describe-stacks
D | aws cloudformation delete-stack --stack-name app
U | aws lambda invoke --function-name f out.json
D | aws sqs purge-queue --queue-url https://sqs/q
D | aws kms schedule-key-deletion --key-id k
M | aws ecs update-service --cluster c --service s --force-new-deployment
R | aws configure list
R | aws configure get region
M | aws configure get aws_secret_access_key
M | aws configure set region eu-west-1
M | aws eks update-kubeconfig --name prod
D | aws -- ec2 terminate-instances --instance-ids i-0abc
D | aws ec2 -- terminate-instances --instance-ids i-0abc
R | aws
R | aws help
R | aws --help
R | aws ec2 --help
# a service with no operation is a usage error at best, whatever the word
U | aws ec2
U | aws frobnicate
U | aws --region eu-west-1 frobnicate -F
U | aws -- ec2
U | aws --mystery ec2 describe-instances
M | aws configure

# az
R | az vm list
R | az vm list -g rg --output table
R | az vm list --debug
R | az vm show -g rg -n delete-me
D | az vm delete -g rg -n vm1 --yes
M | az vm start -g rg -n vm1
M | az vm deallocate -g rg -n vm1
D | az vm reimage -g rg -n vm1
M | az vm open-port -g rg -n vm1 --port 80
R | az vm run-command list -g rg --vm-name vm1
D | az vm run-command invoke -g rg -n vm1 --command-id RunShellScript --scripts "ls /"
R | az group list
D | az group delete --name rg --yes --no-wait
R | az group exists -n rg
R | az account show
M | az account get-access-token
R | az aks list
M | az aks get-credentials -g rg -n prod
M | az storage account keys list -g rg -n sa
R | az keyvault secret list --vault-name kv
M | az keyvault secret show --vault-name kv --name db-password
M | az keyvault set-policy -n kv --upn a@b.c --secret-permissions get list
R | az monitor activity-log list --offset 1h
R | az monitor log-analytics query -w ws --analytics-query AzureActivity
R | az webapp log tail -n app -g rg
D | az lock delete --name l -g rg
D | az network nsg rule delete -g rg --nsg-name n -n r
R | az find "delete vm"
R | az version
R | az vm delete --help
U | az vm
U | az --subscription s network nsg

# scw
R | scw instance server list
R | scw -p prod instance server list zone=fr-par-1
R | scw instance server list name=delete-me
R | scw instance server get 11111111-1111-1111-1111-111111111111
D | scw instance server delete 11111111-1111-1111-1111-111111111111 with-volumes=all
D | scw instance server terminate 11111111-1111-1111-1111-111111111111
M | scw instance server stop 11111111-1111-1111-1111-111111111111
M | scw instance server reboot 11111111-1111-1111-1111-111111111111
M | scw instance server create type=DEV1-S image=ubuntu_jammy
D | scw instance server ssh 11111111-1111-1111-1111-111111111111
R | scw instance server wait 11111111-1111-1111-1111-111111111111
D | scw instance server stop 11111111-1111-1111-1111-111111111111 force-shutdown=true
R | scw k8s cluster list
M | scw k8s kubeconfig get 11111111-1111-1111-1111-111111111111
R | scw rdb backup list
R | scw instance snapshot list
D | scw registry tag delete 11111111-1111-1111-1111-111111111111
D | scw rdb instance delete 11111111-1111-1111-1111-111111111111
R | scw object bucket list
M | scw config dump
R | scw config get default-organization-id
M | scw config get secret-key
R | scw info
M | scw info show-secret=true
M | scw secret version access 11111111-1111-1111-1111-111111111111 revision=latest
R | scw version
R | scw instance server delete --help
U | scw instance server
U | scw -p prod instance

# tailscale
R | tailscale status
R | tailscale status --json
R | tailscale --socket /var/run/tailscale/tailscaled.sock status
R | tailscale ip -4
R | tailscale ping db-1
R | tailscale netcheck
R | tailscale whois 100.64.0.1
R | tailscale version
M | tailscale up --accept-routes
D | tailscale up --force-reauth
M | tailscale set --advertise-exit-node
D | tailscale down
D | tailscale logout
D | tailscale ssh root@db-1 uptime
D | tailscale ssh root@db-1 ls --help
R | tailscale up --help
R | tailscale serve status
M | tailscale serve --bg 3000
M | tailscale funnel 443 on
R | tailscale dns status
R | tailscale exit-node list
R | tailscale lock status
D | tailscale lock remove tlpub:abc
R | tailscale switch --list
M | tailscale switch work.example.com
M | tailscale file cp report.txt db-1:
U | tailscale frobnicate
R | tailscale
R | tailscale --help
U | tailscale --mystery down

# ovh
R | ovh cloud instance list --cloud-project p
R | ovh cloud instance get 0a1b2c
D | ovh cloud instance delete 0a1b2c
M | ovh cloud instance reboot 0a1b2c
M | ovh cloud instance start 0a1b2c
D | ovh cloud instance reinstall 0a1b2c
M | ovh cloud instance set-flavor 0a1b2c b2-7
R | ovh domain list
R | ovh domain-name list
R | ovh domain-zone get example.com
R | ovh vps list --json
R | ovh -f id vps list
R | ovh vps list-tasks vps-1
D | ovh vps terminate vps-1
D | ovh vps confirm-termination vps-1
M | ovh vps get-console-url vps-1
M | ovh baremetal ipmi get-access ns1
M | ovh cloud kube kubeconfig generate k1
D | ovh cloud kube restart k1 --force
D | ovh cloud storage-s3 bulk-delete bucket
M | ovh cloud instance snapshot create 0a1b2c
M | ovh config show
M | ovh login
R | ovh version
R | ovh cloud instance delete --help
R | ovh baremetal list --filter name=~"delete"
U | ovh cloud instance
R | ovh --help

# kubectl
R | kubectl get pods
R | kubectl -n prod get pods
R | kubectl get pods -n prod -o wide
R | kubectl get pod delete-me
R | kubectl get pods -A --field-selector=status.phase=Failed
R | kubectl --kubeconfig /tmp/kube get nodes
R | kubectl describe pod delete
R | kubectl logs -f deploy/api --since 10m
R | kubectl logs api-7d9 -c app --previous
R | kubectl top pods -n prod
R | kubectl explain deployment.spec
R | kubectl api-resources
R | kubectl version --client
R | kubectl cluster-info
R | kubectl auth can-i delete pods
R | kubectl events -n prod
R | kubectl wait --for=condition=Ready pod/api
R | kubectl rollout status deploy/api
R | kubectl rollout history deploy/api
M | kubectl rollout restart deploy/api
M | kubectl rollout undo deploy/api
R | kubectl config view
M | kubectl config view --raw
R | kubectl config get-contexts
R | kubectl config current-context
M | kubectl config use-context prod
M | kubectl config set-context --current --namespace=prod
D | kubectl config delete-context old
R | kubectl get secrets -n prod
M | kubectl get secret db -o yaml
M | kubectl get secret/db -ojsonpath={.data.password}
R | kubectl describe secret db
D | kubectl delete pod api-7d9
D | kubectl --context staging delete pod get
D | kubectl delete pod api-7d9 --grace-period=0 --force
D | kubectl drain node-1 --ignore-daemonsets
M | kubectl apply -f deploy.yaml
D | kubectl apply -f manifests/ --prune -l app=api
R | kubectl apply view-last-applied deploy/api
D | kubectl replace --force -f deploy.yaml
M | kubectl scale deploy/api --replicas=3
M | kubectl cordon node-1
M | kubectl label pod api env=prod --overwrite
M | kubectl annotate pod api note="hello world"
M | kubectl patch deploy api -p '{"spec":{"replicas":2}}'
M | kubectl edit deploy api
M | kubectl set image deploy/api app=api:v2
D | kubectl exec -it api-7d9 -- sh
D | kubectl exec api-7d9 -- cat /etc/hosts --help
D | kubectl attach api-7d9
D | kubectl debug node/node-1 -it --image=busybox
M | kubectl cp api-7d9:/tmp/dump ./dump
M | kubectl port-forward svc/api 8080:80
M | kubectl proxy
R | kubectl delete --help
R | kubectl help delete
# a verb kubectl does not know runs a plugin (`kubectl-krew`): treated like exec
D | kubectl krew install ctx
D | kubectl node-shell my-node
D | kubectl krew --help
D | kubectl -- delete pod api-7d9
# a `--` before any command: judged without it, never as known
U | kubectl -- get pods
U | kubectl rollout -- restart deploy/api
# a group with no subcommand is a usage error at best; `help` and `--help` are help
U | kubectl rollout
U | kubectl config
U | kubectl rollout --mystery undo
R | kubectl rollout --help
R | kubectl help rollout
R | kubectl
U | kubectl --mystery get
"#;

/// The rows of [`TABLE`] as `(cli, command, class)`.
fn table() -> Vec<(Cli, &'static str, Class)> {
    TABLE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (class, command) = line.split_once(" | ").expect("a `CLASS | COMMAND` row");
            let class = match class {
                "R" => R,
                "M" => M,
                "U" => U,
                "D" => D,
                other => panic!("unknown class {other:?} in {line:?}"),
            };
            let binary = command.split(' ').next().unwrap_or_default();
            let cli = Cli::ALL
                .into_iter()
                .find(|cli| cli.binary() == binary)
                .expect("a row starts with a known binary");
            (cli, command, class)
        })
        .collect()
}

pub(super) fn words(line: &str) -> Vec<String> {
    shell_words::split(line).expect("a test command parses")
}

#[test]
fn every_table_row_has_its_class() {
    let mut wrong = Vec::new();
    for (cli, line, expected) in table() {
        let argv = words(line);
        assert_eq!(
            argv[0],
            cli.binary(),
            "row must start with its binary: {line}"
        );
        let got = classify(cli, &argv[1..]);
        if got != expected {
            wrong.push(format!("{line}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

#[test]
fn the_table_covers_every_cli() {
    for cli in Cli::ALL {
        let rows = table().iter().filter(|(c, _, _)| *c == cli).count();
        assert!(rows >= 10, "{cli} has only {rows} rows");
    }
    assert!(table().len() >= 100);
}

#[test]
fn check_agrees_with_classify_on_every_row() {
    let policy = Policy::default();
    for (cli, line, expected) in table() {
        let decision = check(cli, line, RunMode::Agent, &policy);
        assert_eq!(decision.class, Some(expected), "{line}");
        assert_eq!(decision.argv, words(line), "{line}");
        let verdict = match expected {
            R | M => Verdict::Allow,
            U | D => Verdict::Confirm,
        };
        assert_eq!(decision.verdict, verdict, "{line}: {}", decision.reason);
    }
}
