// Each drill runs a whole stack under fio load: one at a time on two cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
