"""siamese/faces/detect.py: one real face is found where it was pasted, with its landmarks."""

from __future__ import annotations

from siamese.faces.detect import Face, central_face, detect_faces


def test_detects_the_one_face_where_it_was_pasted(face, scene):
    faces = detect_faces(scene(face))
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 180 <= x + w / 2 <= 180 + 276 and 70 <= y + h / 2 <= 70 + 336
    assert {"left_eye", "right_eye", "nose"} <= set(faces[0].landmarks)


def test_the_central_face_is_the_one_a_dataset_photo_is_of():
    big_corner = Face((0, 0, 90, 90), 0.99)        # a large bystander in a corner
    centred = Face((85, 85, 80, 80), 0.95)         # the person of a 250 x 250 news photo
    small_centred = Face((115, 115, 20, 20), 0.9)  # a face in a poster behind them
    assert central_face([big_corner, centred, small_centred], (250, 250)) is centred


def test_a_lenient_second_look_finds_a_small_face_the_first_misses(face, scene):
    tiny = scene(face.resize((18, 22)), offsets=((300, 220),))
    assert detect_faces(tiny) == [] or detect_faces(tiny, lenient=True)
