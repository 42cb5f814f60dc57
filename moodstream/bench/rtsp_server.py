#!/usr/bin/python3
"""A real RTSP server, as IP cameras are: sample videos looping at their native rate, over RTSP.

It is GStreamer's RTSP server (Debian: ``gir1.2-gst-rtsp-server-1.0``, ``python3-gi``,
``gstreamer1.0-plugins-good`` and ``-bad``, ``gstreamer1.0-libav``), so it runs under Debian's
``/usr/bin/python3``, not moodstream's environment, and imports nothing of moodstream. The tests and
``moodstream bench --rtsp`` start it as a process:

    /usr/bin/python3 moodstream/bench/rtsp_server.py --port 8554 --mount cam=video.mp4 \\
        --mount cam265=video.mp4:h265 [--user U --password P] [--ready FILE]

An H.264 file is served as it is (its access units are read once and sent again and again, with their
timestamps moved on by the file's length each loop: no re-encoding); ``:h265`` transcodes it once, at
start. Media is shared: every client of a mount sees the same stream, as with a camera. ``--ready`` is
written once the server listens.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

DEMUX = {
    "h264": "qtdemux ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au",
    "h265": (
        "qtdemux ! h264parse ! avdec_h264 ! videoconvert ! x265enc speed-preset=ultrafast tune=zerolatency "
        "key-int-max=24 ! h265parse config-interval=-1 ! video/x-h265,stream-format=byte-stream,alignment=au"
    ),
}
PAY = {"h264": "h264parse ! rtph264pay", "h265": "h265parse ! rtph265pay"}


def access_units(path: Path, codec: str) -> tuple[str, list[tuple[bytes, int, int, bool]], int]:
    """The file's access units (bytes, pts, duration, delta), their caps, and the loop's length in ns."""
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! {DEMUX[codec]} ! appsink name=sink sync=false max-buffers=0'
    )
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    units, caps = [], ""
    while (sample := sink.emit("pull-sample")) is not None:
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if ok:
            units.append((bytes(info.data), buf.pts, buf.duration, buf.has_flags(Gst.BufferFlags.DELTA_UNIT)))
            buf.unmap(info)
        caps = sample.get_caps().to_string()
    pipeline.set_state(Gst.State.NULL)
    if not units:
        raise SystemExit(f"rtsp_server: {path}: no {codec} video")
    first = units[0][1]
    step = units[-1][2] if units[-1][2] != Gst.CLOCK_TIME_NONE else units[-1][1] - units[-2][1]
    return caps, [(d, p - first, dur, delta) for d, p, dur, delta in units], units[-1][1] - first + step


class LoopingFactory(GstRtspServer.RTSPMediaFactory):
    """One mount: the units pushed into an appsrc in a loop, paced by the server's sinks."""

    def __init__(self, path: Path, codec: str) -> None:
        super().__init__()
        self.caps, self.units, self.length = access_units(path, codec)
        self.set_shared(True)
        self.set_launch(
            f'( appsrc name=src is-live=true format=time do-timestamp=false caps="{self.caps}" '
            f"! {PAY[codec]} name=pay0 pt=96 config-interval=-1 )"
        )
        self.connect("media-configure", self._configure)

    def _configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_child_by_name("src")
        position = {"i": 0, "loop": 0}

        def need_data(appsrc: Gst.Element, _length: int) -> None:
            data, pts, duration, delta = self.units[position["i"]]
            buf = Gst.Buffer.new_wrapped(data)
            buf.pts = buf.dts = pts + position["loop"] * self.length
            buf.duration = duration
            if delta:
                buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
            appsrc.emit("push-buffer", buf)
            position["i"] += 1
            if position["i"] == len(self.units):
                position["i"], position["loop"] = 0, position["loop"] + 1

        src.connect("need-data", need_data)


def _announce_transports(_server: object, client: GstRtspServer.RTSPClient) -> None:
    """One line per SETUP: which transport the client asked for (``TCP`` is RTSP-interleaved)."""

    def setup(_client: object, ctx: GstRtspServer.RTSPContext) -> None:
        _, transport = ctx.request.get_header(GstRtsp.RTSPHeaderField.TRANSPORT, 0)
        kind = "TCP" if "/TCP" in (transport or "").upper() else "UDP"
        print(f"setup {ctx.uri.abspath if ctx.uri else '?'} {kind}", flush=True)

    client.connect("setup-request", setup)


def main() -> int:
    parser = argparse.ArgumentParser(description="serve videos over RTSP, looping, as cameras do")
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--mount", action="append", default=[], help="NAME=FILE[:h264|:h265]")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--ready", help="a file written once the server listens")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for spec in args.mount:
        name, _, rest = spec.partition("=")
        file, _, codec = rest.partition(":") if rest.endswith((":h264", ":h265")) else (rest, "", "h264")
        factory = LoopingFactory(Path(file), codec or "h264")
        if args.user:
            factory.add_role_from_structure(
                Gst.Structure.from_string(
                    "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
                )[0]
            )
        mounts.add_factory(f"/{name}", factory)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
    server.connect("client-connected", _announce_transports)
    if server.attach(None) == 0:
        print(f"rtsp_server: cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    if args.ready:
        Path(args.ready).write_text(f"rtsp://127.0.0.1:{args.port}\n")
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
