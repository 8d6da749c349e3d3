# %%
class Mean(AggregateFunction):
    def create_accumulator(self):
        return (0.0, 0)

    def add(self, reading, acc):
        return (acc[0] + reading["value"], acc[1] + 1)

    def get_result(self, acc):
        return acc[0] / acc[1]

    def merge(self, a, b):
        return (a[0] + b[0], a[1] + b[1])


class Count(AggregateFunction):
    def create_accumulator(self):
        return 0

    def add(self, order, acc):
        return acc + 1

    def get_result(self, acc):
        return acc

    def merge(self, a, b):
        return a + b


def readings_source(env, seconds):
    return (
        env.add_source(FlinkKinesisConsumer("readings", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_bounded_out_of_orderness(
                Duration.of_seconds(seconds)
            ).with_timestamp_assigner(lambda reading, _: reading["ts"])
        )
    )


def orders_source(env):
    return (
        env.add_source(FlinkKinesisConsumer("orders", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_bounded_out_of_orderness(
                Duration.of_seconds(10)
            ).with_timestamp_assigner(lambda order, _: order["ts"])
        )
    )


def with_start(sensor, context, means):
    for mean in means:
        yield json.dumps({"sensor": sensor, "window_start": context.window().start, "avg": mean})


def per_window(product, context, counts):
    for count in counts:
        yield (context.window().end, product, count)


def sink(name):
    return KinesisStreamsSink.builder().set_stream_name(name).build()
