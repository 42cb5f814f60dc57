"""The printable notice for the people a camera films (EU AI Act Art. 50(3): deployers of emotion
recognition inform the people exposed to it), made from the config alone: what is inferred, by whom,
for what, what leaves the pipeline, what is kept and for how long, and whom to ask.

It is HTML laid out for one A4 page (``@page``): a browser prints it, or saves it as PDF.
"""

from __future__ import annotations

import html
from datetime import date

from moodstream.config import CameraSettings, Settings
from moodstream.config.privacy import Protection
from moodstream.streams.schemas import EMOTIONS

STYLE = """
@page { size: A4; margin: 18mm; }
body { font-family: sans-serif; color: #111; max-width: 174mm; margin: 0 auto; line-height: 1.45; }
h1 { font-size: 28pt; margin: 0 0 4mm; }
.camera { font-size: 12pt; color: #444; margin: 0 0 8mm; }
h2 { font-size: 14pt; margin: 7mm 0 2mm; border-bottom: 1px solid #999; }
p, li { font-size: 12pt; }
.notice { font-size: 14pt; border-left: 4px solid #111; padding-left: 4mm; }
footer { margin-top: 10mm; font-size: 9pt; color: #555; }
"""


def _kept(settings: Settings) -> str:
    retention = settings.privacy.retention
    if retention:
        return (
            f"The emotions inferred, their summaries over time, alerts and any recordings are deleted "
            f"automatically once they are {html.escape(retention)} old."
        )
    return (
        "The emotions inferred are kept only until newer ones replace them (a fixed number of recent "
        "events); their summaries over time are kept for a limited number of buckets."
    )


def _leaves(cam: CameraSettings, protection: Protection) -> str:
    if protection.aggregate:
        return (
            "No video, face or individual result leaves the system: only the mood of the whole scene over "
            "time, the music suggested for it, and alerts."
        )
    parts = []
    if protection.blur:
        parts.append("faces are blurred beyond recognition in all video shown to staff")
    if cam.masks:
        parts.append("some areas are masked: nothing there is analysed or shown")
    shown = "; ".join(parts) if parts else "video is shown to staff as filmed"
    return f"Video and the emotion of each face are shown on the operator's screens: {shown}."


def render_notice(settings: Settings, camera_id: str) -> str:
    """The notice for one camera, as a complete HTML page."""
    cam = settings.camera(camera_id)
    protection = settings.protection(camera_id)
    privacy = settings.privacy
    esc = html.escape
    controller = esc(privacy.controller) or "the operator of this camera"
    contact = (
        f"<p>Questions, and requests about your data: {esc(privacy.contact)}</p>" if privacy.contact else ""
    )
    purpose = esc(cam.purpose) or "not stated"
    exemption = (
        f"<p>Declared exemption: {esc(cam.exemption)} reasons (EU AI Act Art. 5(1)(f)).</p>"
        if cam.exemption
        else ""
    )
    notice = f'<p class="notice">{esc(cam.notice)}</p>' if cam.notice else ""
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Emotion recognition in use: {esc(cam.id)}</title><style>{STYLE}</style></head>
<body>
<h1>Emotion recognition in use</h1>
<p class="camera">Camera {esc(cam.id)} · {esc(cam.context)}</p>
{notice}
<h2>What is inferred</h2>
<p>A computer estimates, from the faces this camera films, which of these emotions each shows:
{", ".join(EMOTIONS)}. It does not identify anyone.</p>
<h2>Why, and by whom</h2>
<p>Purpose: {purpose}.</p>
<p>Responsible: {controller}.</p>
{exemption}
<h2>What is shown and kept</h2>
<p>{_leaves(cam, protection)}</p>
<p>{_kept(settings)}</p>
{contact}
<footer>Notice under the EU AI Act, Art. 50(3), printed {date.today().isoformat()} from the system's
configuration.</footer>
</body>
</html>
"""
