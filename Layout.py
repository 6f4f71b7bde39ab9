# LAYOUT PY
# Where a search's files live in OUTPUT: the one home of these names and
# paths. Every other module asks here for a file of OUTPUT.
#
#   OUTPUT/results.csv    how each task ended (Results.py writes, History.py reads)
#   OUTPUT/started.csv    each task as it was launched, its point and origin
#   OUTPUT/progress.csv   the intermediate values read from the tasks (Progress.py)
#   OUTPUT/run.json       the settings and arguments a resumed run shares (Resume.py)
#   OUTPUT/cfg.json       a copy of the cfg, so that --resume alone carries on
#   OUTPUT/driver.lock    held by the driver writing OUTPUT (OutputLock.py)
#   OUTPUT/drivers/NAME/  one per driver of a joined search (Joined.py): its
#                         heartbeat, and the journals of a driver that does not
#                         hold driver.lock (results.csv, started.csv, progress.csv)
#   OUTPUT/claims/TTTTTT.G  a joined search's tickets toward POINTS_MAX (Tickets.py)
#   OUTPUT/NAME.png       the report's plots (Plots.py names them)
#
#   OUTPUT/tasks/SSS/NNNN/           the task's own working directory
#   OUTPUT/tasks/SSS/NNNN/NNNN.txt   its output (stdout and stderr)
#   OUTPUT/tasks/SSS/NNNN/NNNN.result  its result (TASK_RESULT)
#
# NNNN is the task number (at least 4 digits); SSS is the number divided
# by SHARD (at least 3 digits). So no folder holds more than SHARD task
# folders (metadata load and inode quotas on Lustre/GPFS), tasks/ holds
# one entry per SHARD tasks, and finding a task's files never lists a
# folder. Folders written before this layout kept NNNN.txt and
# NNNN.result flat in OUTPUT: readers fall back to those paths.

import os

SHARD = 1000
TASKS = "tasks"
RESULTS = "results.csv"
STARTED = "started.csv"
PROGRESS = "progress.csv"
RUN = "run.json"
CFG_COPY = "cfg.json"
LOCK = "driver.lock"
BEST = "best.json"  # the best ok task, kept whole by the driver (Best.py)
DRIVERS = "drivers"
HEARTBEAT = "heartbeat"
CLAIMS = "claims"
JOURNALS = (RESULTS, STARTED, PROGRESS)
# what makes a folder a search's OUTPUT (main.py refuses a new search there)
SEARCH_FILES = (RUN, RESULTS, STARTED)


def path(output: str, name: str) -> str:
    """OUTPUT/NAME, NAME one of the search's files above (RESULTS, RUN, LOCK...)."""
    return os.path.join(output, name)


def driver_dir(output: str, name: str) -> str:
    """OUTPUT/drivers/NAME: the folder of one driver of a joined search."""
    return os.path.join(output, DRIVERS, name)


def driver_names(output: str) -> list[str]:
    """The drivers that joined the search in OUTPUT (their folders' names), sorted."""
    return sorted(_names(os.path.join(output, DRIVERS)))


def journal_folders(output: str) -> list[str]:
    """Every folder that may hold journals: OUTPUT, then each driver's folder."""
    return [output] + [driver_dir(output, n) for n in driver_names(output)]


def all_journals(output: str, name: str) -> list[str]:
    """Every driver's journal NAME (RESULTS, STARTED, PROGRESS), OUTPUT's first."""
    return [path(folder, name) for folder in journal_folders(output)]


def claim_path(output: str, ticket: int, generation: int) -> str:
    """OUTPUT/claims/TTTTTT.G: generation G of the claim on ticket TTTTTT."""
    return os.path.join(output, CLAIMS, f"{ticket:06d}.{generation}")


def plot_name(name: str) -> str:
    """NAME.png, the file of the report's plot NAME."""
    return name + ".png"


def plot_file(output: str, name: str) -> str:
    """OUTPUT/NAME.png, one of the report's plots."""
    return os.path.join(output, plot_name(name))


def task_name(task_id: int) -> str:
    """NNNN: the task number as it appears in file names."""
    return f"{task_id:04d}"


def task_dir(output: str, task_id: int) -> str:
    """The task's working directory (created by the driver before launch)."""
    return os.path.join(output, TASKS, f"{task_id // SHARD:03d}", task_name(task_id))


def output_file(output: str, task_id: int) -> str:
    """The task's output file NNNN.txt."""
    return os.path.join(task_dir(output, task_id), task_name(task_id) + ".txt")


def result_file(output: str, task_id: int) -> str:
    """The task's result file NNNN.result (its TASK_RESULT)."""
    return os.path.join(task_dir(output, task_id), task_name(task_id) + ".result")


def legacy_output_file(output: str, task_id: int) -> str:
    """NNNN.txt flat in OUTPUT, as folders written before this layout have it."""
    return os.path.join(output, task_name(task_id) + ".txt")


def find_output_file(output: str, task_id: int) -> str:
    """The task's output file in this layout, else where an older folder has it."""
    path = output_file(output, task_id)
    if os.path.exists(path):
        return path
    legacy = legacy_output_file(output, task_id)
    return legacy if os.path.exists(legacy) else path


def highest_task_id(output: str) -> int:
    """The highest task number that left files in OUTPUT (either layout), else -1.

    Lists tasks/ and its last shards only (plus OUTPUT itself for older
    folders), never every task folder.
    """
    found = [int(f[:-4]) for f in _names(output) if f.endswith(".txt") and f[:-4].isdigit()]
    shards = sorted((int(s) for s in _names(os.path.join(output, TASKS)) if s.isdigit()),
                    reverse=True)
    for shard in shards:  # the highest shard can be empty (made, then the disk filled)
        numbers = [int(n) for n in _names(os.path.join(output, TASKS, f"{shard:03d}"))
                   if n.isdigit()]
        if numbers:
            found.append(max(numbers))
            break
    return max(found, default=-1)


def _names(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []
