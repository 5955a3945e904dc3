using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Dataflow.Testing;

/// <summary>
/// Plays the batch/v1 Job controller for one Job: runs its pods as processes and keeps its status as the real
/// controller does. Not emulated: the exponential back-off between retries (the fake retries at once), pod
/// readiness probes, suspend, successPolicy, podReplacementPolicy, work-queue Jobs without <c>completions</c> (run
/// as <c>completions: 1</c>) and <c>ttlSecondsAfterFinished</c> (kept on the object, never acted on).
/// </summary>
internal sealed class JobController(FakeCluster cluster, string ns, string name)
{
    private readonly SortedSet<int> _completedIndexes = [];
    private readonly SortedSet<int> _failedIndexes = [];
    private readonly Dictionary<Task<PodOutcome>, (FakePod Pod, int Index)> _active = [];
    private int _succeeded;
    private int _failed;

    public async Task RunAsync(CancellationToken stopped)
    {
        var job = cluster.Store.Get(ResourceKind.Jobs, ns, name);
        if (job?["spec"] is not JsonObject spec || spec["template"] is not JsonObject template)
        {
            return;
        }

        var indexed = Json.Str(spec["completionMode"]) == "Indexed";
        var completions = Json.Int(spec["completions"]) ?? 1;
        var parallelism = Json.Int(spec["parallelism"]) ?? 1;
        var backoffLimitPerIndex = Json.Int(spec["backoffLimitPerIndex"]);
        var backoffLimit = Json.Int(spec["backoffLimit"]) ?? (backoffLimitPerIndex is null ? 6 : int.MaxValue);
        var maxFailedIndexes = Json.Int(spec["maxFailedIndexes"]);
        var rules = Json.Objects(spec["podFailurePolicy"]?["rules"]).ToList();
        var container = Json.Objects(template["spec"]?["containers"]).First();
        var uid = Json.Str(job["metadata"]?["uid"]);
        var startTime = Json.Now();

        using var deadline = new CancellationTokenSource();
        if (Json.Long(spec["activeDeadlineSeconds"]) is long seconds)
        {
            deadline.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        using var running = CancellationTokenSource.CreateLinkedTokenSource(stopped, deadline.Token);
        var pending = new Queue<int>(indexed ? Enumerable.Range(0, completions) : []);
        var attempts = new Dictionary<int, int>();
        var failuresPerIndex = new Dictionary<int, int>();
        (string Reason, string Message)? failure = null;

        while (failure is null && parallelism > 0)
        {
            while (_active.Count < parallelism)
            {
                int index;
                if (indexed)
                {
                    if (!pending.TryDequeue(out index))
                    {
                        break;
                    }
                }
                else if (_succeeded + _active.Count >= completions)
                {
                    break;
                }
                else
                {
                    index = -1;
                }

                attempts[index] = attempts.GetValueOrDefault(index, -1) + 1;
                var pod = StartPod(template, container, uid, indexed ? index : null, attempts[index]);
                _active.Add(pod.Outcome, (pod, index));
            }

            if (_active.Count == 0)
            {
                break;
            }

            Publish(startTime, indexed, backoffLimitPerIndex is not null, conditions: null, completionTime: null);
            Task<PodOutcome> done;
            try
            {
                done = await Task.WhenAny(_active.Keys).WaitAsync(running.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stopped.IsCancellationRequested)
            {
                failure = ("DeadlineExceeded", "Job was active longer than specified deadline");
                break;
            }

            var (finished, finishedIndex) = _active[done];
            _active.Remove(done);
            var outcome = await done.ConfigureAwait(false);
            if (outcome.Succeeded)
            {
                _succeeded++;
                if (indexed)
                {
                    _completedIndexes.Add(finishedIndex);
                }

                continue;
            }

            var (action, ruleIndex) = MatchRule(rules, outcome, Json.Str(container["name"]) ?? "");
            if (action == "Ignore")
            {
                if (indexed)
                {
                    pending.Enqueue(finishedIndex);
                }

                continue;
            }

            _failed++;
            if (action == "FailJob")
            {
                failure = ("PodFailurePolicy",
                    $"Container {Json.Str(container["name"])} for pod {ns}/{finished.Name} failed with exit code {outcome.ExitCode} matching FailJob rule at index {ruleIndex}");
            }
            else if (indexed && backoffLimitPerIndex is int perIndex)
            {
                var failures = failuresPerIndex[finishedIndex] = failuresPerIndex.GetValueOrDefault(finishedIndex) + 1;
                if (action == "FailIndex" || failures > perIndex)
                {
                    _failedIndexes.Add(finishedIndex);
                    if (maxFailedIndexes is int max && _failedIndexes.Count > max)
                    {
                        failure = ("MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes");
                    }
                }
                else
                {
                    pending.Enqueue(finishedIndex);
                }
            }
            else if (_failed > backoffLimit)
            {
                failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit");
            }
            else if (indexed)
            {
                pending.Enqueue(finishedIndex);
            }
        }

        if (failure is null && _failedIndexes.Count > 0)
        {
            failure = ("FailedIndexes", "Job has failed indexes");
        }

        var now = Json.Now();
        if (failure is { } f)
        {
            // The controller terminates the pods still running; they count as failed.
            foreach (var (pod, _) in _active.Values)
            {
                pod.Kill();
            }

            await Task.WhenAll(_active.Keys).WaitAsync(stopped).ConfigureAwait(false);
            _failed += _active.Count;
            _active.Clear();
            Publish(startTime, indexed, backoffLimitPerIndex is not null, [
                Condition("FailureTarget", f.Reason, f.Message, now),
                Condition("Failed", f.Reason, f.Message, now),
            ], completionTime: null);
        }
        else
        {
            Publish(startTime, indexed, backoffLimitPerIndex is not null, [
                Condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", now),
                Condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods", now),
            ], completionTime: now);
        }
    }

    /// <summary>Compresses sorted indexes the way the Job status writes them: <c>0-3,5</c>.</summary>
    public static string CompressIndexes(IEnumerable<int> sorted)
    {
        var text = new StringBuilder();
        int? first = null;
        var last = 0;
        foreach (var i in sorted)
        {
            if (first is not null && i == last + 1)
            {
                last = i;
                continue;
            }

            Append();
            first = i;
            last = i;
        }

        Append();
        return text.ToString();

        void Append()
        {
            if (first is null)
            {
                return;
            }

            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(first.Value.ToString(CultureInfo.InvariantCulture));
            if (last != first)
            {
                text.Append('-').Append(last.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    private static (string Action, int RuleIndex) MatchRule(List<JsonObject> rules, PodOutcome outcome, string containerName)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var action = Json.Str(rule["action"]) ?? "Count";
            if (rule["onExitCodes"] is JsonObject onExitCodes)
            {
                if (outcome.ExitCode is not int code
                    || (Json.Str(onExitCodes["containerName"]) is { } c && c != containerName))
                {
                    continue;
                }

                var values = (onExitCodes["values"] as JsonArray ?? []).Select(Json.Int).ToList();
                var matches = Json.Str(onExitCodes["operator"]) == "NotIn"
                    ? code != 0 && !values.Contains(code)
                    : values.Contains(code);
                if (matches)
                {
                    return (action, i);
                }
            }

            // onPodConditions: the fake's pods never carry DisruptionTarget (a kill is a plain crash), so such
            // rules never match.
        }

        return ("Count", -1);
    }

    private FakePod StartPod(JsonObject template, JsonObject container, string? uid, int? index, int attempt)
    {
        var podName = index is int i
            ? $"{Trim(name, 63 - 12)}-{i.ToString(CultureInfo.InvariantCulture)}-{FakeCluster.RandomSuffix()}"
            : $"{Trim(name, 63 - 6)}-{FakeCluster.RandomSuffix()}";
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (template["metadata"]?["labels"] is JsonObject templateLabels)
        {
            foreach (var (key, value) in templateLabels)
            {
                labels[key] = Json.Str(value) ?? "";
            }
        }

        labels["job-name"] = name;
        labels["batch.kubernetes.io/job-name"] = name;
        labels["controller-uid"] = uid ?? "";
        labels["batch.kubernetes.io/controller-uid"] = uid ?? "";
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (index is int completionIndex)
        {
            var text = completionIndex.ToString(CultureInfo.InvariantCulture);
            labels["batch.kubernetes.io/job-completion-index"] = text;
            annotations["batch.kubernetes.io/job-completion-index"] = text;
            environment["JOB_COMPLETION_INDEX"] = text;
        }

        return cluster.StartPod(new PodRequest(
            ns, podName, ResourceKind.Jobs, name, uid, container, labels, annotations, environment, index, attempt));
    }

    private static string Trim(string text, int length) => text.Length <= length ? text : text[..length];

    private static JsonObject Condition(string type, string reason, string message, string now) => new()
    {
        ["type"] = type,
        ["status"] = "True",
        ["reason"] = reason,
        ["message"] = message,
        ["lastProbeTime"] = now,
        ["lastTransitionTime"] = now,
    };

    private void Publish(string startTime, bool indexed, bool perIndex, JsonObject[]? conditions, string? completionTime)
    {
        var ready = _active.Values.Count(a => a.Pod.Phase == "Running");
        cluster.Store.Update(ResourceKind.Jobs, ns, name, job =>
        {
            var status = new JsonObject
            {
                ["startTime"] = startTime,
                ["active"] = _active.Count,
                ["ready"] = ready,
                ["terminating"] = 0,
                ["succeeded"] = _succeeded,
                ["failed"] = _failed,
                ["uncountedTerminatedPods"] = new JsonObject(),
            };
            if (indexed)
            {
                status["completedIndexes"] = CompressIndexes(_completedIndexes);
            }

            if (perIndex)
            {
                status["failedIndexes"] = CompressIndexes(_failedIndexes);
            }

            if (completionTime is not null)
            {
                status["completionTime"] = completionTime;
            }

            if (conditions is not null)
            {
                status["conditions"] = new JsonArray([.. conditions]);
            }

            job["status"] = status;
        });
    }
}
