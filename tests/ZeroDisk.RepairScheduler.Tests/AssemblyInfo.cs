// Every scheduler host consumes every published event on its own queues, so two scenarios running at once would
// each see the other's scheduler react too. One scenario at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
