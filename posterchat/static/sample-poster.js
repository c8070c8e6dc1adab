/* The sample poster (posterchat.poster.SAMPLE_POSTER); written by scripts/build_page.py. */
(window.posterchat = window.posterchat || {}).samplePoster = {
  "width": 420,
  "height": 594,
  "unit": "mm",
  "background": "#fdf6e3",
  "elements": [
    {
      "id": "band",
      "type": "shape",
      "x": 0,
      "y": 430,
      "width": 420,
      "height": 164,
      "fill": "#1d3557"
    },
    {
      "id": "title",
      "type": "text",
      "x": 30,
      "y": 30,
      "width": 360,
      "height": 70,
      "content": "Summer Jazz Night",
      "font_family": "Playfair Display",
      "font_size": 72,
      "font_weight": 700,
      "color": "#e9c46a",
      "role": "headline"
    },
    {
      "id": "details",
      "type": "text",
      "x": 30,
      "y": 455,
      "width": 360,
      "height": 90,
      "content": "Friday 12 July, 8 pm. Riverside Hall. Free entry.",
      "font_family": "Inter",
      "font_size": 54,
      "color": "#f1faee",
      "role": "body"
    },
    {
      "id": "photo",
      "type": "image",
      "x": 30,
      "y": 120,
      "width": 360,
      "height": 270,
      "pixel_width": 1600,
      "pixel_height": 1200
    },
    {
      "id": "credit",
      "type": "text",
      "x": 30,
      "y": 560,
      "width": 200,
      "height": 33,
      "content": "Photo: A. Musician",
      "font_family": "Inter",
      "font_size": 60,
      "color": "#a8dadc",
      "role": "caption"
    }
  ]
};
