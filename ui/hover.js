var gd = document.getElementById('{plot_id}');
var box = document.getElementById('face-box');
gd.on('plotly_hover', function (e) {
  var p = e.points[0];
  if (!p.customdata) return;
  box.innerHTML = '<img src="' + p.customdata[0] + '" width="112" height="112" style="image-rendering:pixelated">'
                + '<br><b>' + p.customdata[1] + '</b><br><small>' + p.customdata[2] + '</small>';
  box.style.display = 'block';
});
gd.on('plotly_unhover', function () { box.style.display = 'none'; });
